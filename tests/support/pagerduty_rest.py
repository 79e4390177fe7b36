"""A PagerDuty REST stand-in on 127.0.0.1 serving `GET /oncalls` from the response example in
PagerDuty's own OpenAPI document, with pagination and scripted 429s. Checks the headers a
real client must send, and records every request."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from support.paths import SHARED

from .http_answers import answer_json

ACCEPT = "application/vnd.pagerduty+json;version=2"


def oncalls_example() -> dict[str, Any]:
    """The `/oncalls` 200 response example from shared/pagerduty/rest.openapi.json."""
    document = json.loads((SHARED / "pagerduty" / "rest.openapi.json").read_text())
    response = document["paths"]["/oncalls"]["get"]["responses"]["200"]
    example: dict[str, Any] = response["content"]["application/json"]["examples"]["response"][
        "value"
    ]
    return example


@dataclass
class RestStandIn:
    token: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    throttle_next: int = 0  # answer this many requests with 429 first
    ratelimit_reset: str = "3"
    fail_with: int | None = None  # answer every request with this status
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: RestStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            answer_json(self, status, body, headers)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            with state.lock:
                state.requests.append(
                    {"path": parts.path, "query": query, "headers": dict(self.headers)}
                )
                if state.fail_with is not None:
                    self._answer(state.fail_with, {"error": {"message": "scripted"}}, {})
                    return
                if self.headers.get("Authorization") != f"Token token={state.token}":
                    self._answer(401, {"error": {"message": "Unauthorized"}}, {})
                    return
                if self.headers.get("Accept") != ACCEPT:
                    self._answer(406, {"error": {"message": "Not Acceptable"}}, {})
                    return
                if parts.path != "/oncalls":
                    self._answer(404, {"error": {"message": "Not Found"}}, {})
                    return
                if state.throttle_next > 0:
                    state.throttle_next -= 1
                    headers = {"ratelimit-reset": state.ratelimit_reset}
                    self._answer(429, {"error": {"message": "Rate Limit Exceeded"}}, headers)
                    return
                limit = min(int(query.get("limit", "25")), 100)
                offset = int(query.get("offset", "0"))
                page = state.entries[offset : offset + limit]
                body = {
                    "oncalls": page,
                    "limit": limit,
                    "offset": offset,
                    "more": offset + limit < len(state.entries),
                    "total": None,
                }
                self._answer(200, body, {})

    return Handler


@contextmanager
def rest_standin(token: str, entries: list[dict[str, Any]] | None = None) -> Iterator[RestStandIn]:
    state = RestStandIn(token, copy.deepcopy(entries or oncalls_example()["oncalls"]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
