"""Test fixtures: pagerduty (real agents/servers started by the tests themselves).

`pagerduty_standin`: an Events API v2 server of our own on 127.0.0.1 that models what Prism
does not (shared/pagerduty/BEHAVIOUR.md): PagerDuty's limits, dedup semantics, the
per-routing-key rate limit, outages and people resolving incidents.

`prism_events_url`: Stoplight Prism serving PagerDuty's own OpenAPI document, which checks
each request against the published contract.
"""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.paths import CACHE, SHARED

from .http_answers import answer_json

SEVERITIES = frozenset({"critical", "error", "warning", "info"})
ACTIONS = frozenset({"trigger", "acknowledge", "resolve"})
MAX_EVENT_BYTES = 512_000
MAX_SUMMARY_CHARS = 1024
MAX_DEDUP_KEY_CHARS = 255
ROUTING_KEY_CHARS = 32
HANG_LIMIT_SECONDS = 30.0


@dataclass
class Incident:
    dedup_key: str
    routing_key: str
    number: int
    summary: str
    status: str = "triggered"  # "triggered" | "acknowledged" | "resolved"
    resolved_by: str | None = None  # "event" | "person"
    log: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Request:
    at: float  # the stand-in's clock
    status: int
    body: bytes


class PagerDutyStandIn:
    """State of the stand-in; every method is safe to call from the test while it serves."""

    def __init__(
        self,
        *,
        rate_limit: int = 120,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # clock: trio.current_time when driven in-process on the autojump clock (see
        # StandInTransport), so the rate limit and request times are virtual too
        self.clock = clock
        self.url = ""
        self.rate_limit = rate_limit
        self.window = window
        self.events: list[dict[str, Any]] = []  # every accepted event, in arrival order
        self.incidents: list[Incident] = []
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._scripted: deque[int | None] = deque()  # a status, or None for "hang"
        self._release = threading.Event()
        self._accepted_at: dict[str, deque[float]] = {}
        self._generated_keys = 0

    # --- scripting -----------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 500) -> None:
        """The next `count` requests get `status` (e.g. 500, 503) and change nothing."""
        with self._lock:
            self._scripted.extend([status] * count)

    def hang_next(self, count: int = 1) -> None:
        """The next `count` requests get no answer until release() (or 30 s, then a close)."""
        with self._lock:
            self._scripted.extend([None] * count)

    def heal(self) -> None:
        """Forget every scripted failure not yet used."""
        with self._lock:
            self._scripted.clear()

    def release(self) -> None:
        self._release.set()

    def resolve_by_person(self, dedup_key: str) -> None:
        with self._lock:
            incident = self._open_incident(dedup_key)
            if incident is None:
                raise KeyError(f"no open incident for {dedup_key!r}")
            incident.status, incident.resolved_by = "resolved", "person"

    # --- what the tests look at ----------------------------------------------------------

    def open_incidents(self) -> dict[str, Incident]:
        with self._lock:
            return {i.dedup_key: i for i in self.incidents if i.status != "resolved"}

    def actions_for(self, dedup_key: str) -> list[str]:
        with self._lock:
            return [e["event_action"] for e in self.events if e.get("dedup_key") == dedup_key]

    def statuses(self) -> list[int]:
        with self._lock:
            return [request.status for request in self.requests]

    # --- the API -------------------------------------------------------------------------

    def handle(self, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """The answer (status, JSON body, headers) to a POST, or None to hang."""
        with self._lock:
            if self._scripted:
                scripted = self._scripted.popleft()
                if scripted is None:
                    self.requests.append(Request(self.clock(), 0, body))
                    return None
                return self._record(body, scripted, _error("Scripted failure", []), {})
            errors, event = validate(body)
            if errors:
                return self._record(body, 400, _error("Event object is invalid", errors), {})
            assert event is not None
            wait = self._throttle(event["routing_key"])
            if wait is not None:
                headers = {"Retry-After": str(max(1, math.ceil(wait)))}
                return self._record(body, 429, _error("Too many requests", []), headers)
            key = self._apply(event)
            answer = {"status": "success", "message": "Event processed", "dedup_key": key}
            return self._record(body, 202, answer, {})

    def wait_for_release(self) -> None:
        self._release.wait(HANG_LIMIT_SECONDS)

    def _record(
        self, body: bytes, status: int, answer: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        self.requests.append(Request(self.clock(), status, body))
        return status, answer, headers

    def _throttle(self, routing_key: str) -> float | None:
        now = self.clock()
        accepted = self._accepted_at.setdefault(routing_key, deque())
        while accepted and accepted[0] <= now - self.window:
            accepted.popleft()
        if len(accepted) >= self.rate_limit:
            return accepted[0] + self.window - now
        accepted.append(now)
        return None

    def _apply(self, event: dict[str, Any]) -> str:
        self.events.append(event)
        action = event["event_action"]
        key = event.get("dedup_key")
        if key is None:  # a trigger without a key always opens a new alert
            self._generated_keys += 1
            key = f"standin-{self._generated_keys}"
        incident = self._open_incident(key)
        if incident is not None and incident.routing_key != event["routing_key"]:
            incident = None  # follow-ups only apply with the trigger's routing key
        if action == "trigger":
            if incident is None:
                incident = Incident(
                    key, event["routing_key"], len(self.incidents) + 1, event["payload"]["summary"]
                )
                self.incidents.append(incident)
            incident.summary = event["payload"]["summary"]
            incident.log.append(event)
        elif incident is not None and action == "acknowledge":
            incident.status = "acknowledged"
            incident.log.append(event)
        elif incident is not None and action == "resolve":
            incident.status, incident.resolved_by = "resolved", "event"
            incident.log.append(event)
        return str(key)

    def _open_incident(self, dedup_key: str) -> Incident | None:
        for incident in reversed(self.incidents):
            if incident.dedup_key == dedup_key and incident.status != "resolved":
                return incident
        return None


class StandInTransport(httpx.AsyncBaseTransport):
    """The stand-in's logic without sockets, for tests on trio's autojump clock: `down`
    refuses connections, a scripted hang is a read timeout."""

    def __init__(self, standin: PagerDutyStandIn) -> None:
        self.standin = standin
        self.down = False
        self.refused = 0  # connection attempts while down

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            self.refused += 1
            raise httpx.ConnectError("connection refused", request=request)
        answer = self.standin.handle(await request.aread())
        if answer is None:
            raise httpx.ReadTimeout("no answer", request=request)
        status, body, headers = answer
        return httpx.Response(status, json=body, headers=headers)


def validate(body: bytes) -> tuple[list[str], dict[str, Any] | None]:
    """PagerDuty's checks on an event: the `errors` of a 400, and the parsed event."""
    if len(body) > MAX_EVENT_BYTES:
        return [f"Event size {len(body)} bytes exceeds {MAX_EVENT_BYTES} bytes"], None
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return ["JSON parse error"], None
    if not isinstance(event, dict):
        return ["Event object is not a JSON object"], None
    errors = []
    routing_key = event.get("routing_key")
    if not isinstance(routing_key, str) or len(routing_key) != ROUTING_KEY_CHARS:
        errors.append("'routing_key' must be a 32 character integration key")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' must be one of trigger, acknowledge, resolve")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or not dedup_key):
        errors.append("'dedup_key' must be a non-empty string")
    elif isinstance(dedup_key, str) and len(dedup_key) > MAX_DEDUP_KEY_CHARS:
        errors.append(f"'dedup_key' must be at most {MAX_DEDUP_KEY_CHARS} characters")
    if action in {"acknowledge", "resolve"} and dedup_key is None:
        errors.append("'dedup_key' is required for acknowledge and resolve")
    if action == "trigger":
        errors += _payload_errors(event.get("payload"))
    for image in event.get("images", []) or []:
        if not str(image.get("src", "")).startswith("https://"):
            errors.append("image 'src' must be an https URL")
    return errors, event


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is required for trigger"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary:
        errors.append("'payload.summary' is required")
    elif len(summary) > MAX_SUMMARY_CHARS:
        errors.append(f"'payload.summary' must be at most {MAX_SUMMARY_CHARS} characters")
    if not isinstance(payload.get("source"), str) or not payload["source"]:
        errors.append("'payload.source' is required")
    if payload.get("severity") not in SEVERITIES:
        errors.append("'payload.severity' must be one of critical, error, warning, info")
    timestamp = payload.get("timestamp")
    if timestamp is not None:
        try:
            datetime.fromisoformat(str(timestamp))
        except ValueError:
            errors.append("'payload.timestamp' must be ISO 8601")
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, dict):
        errors.append("'payload.custom_details' must be an object")
    return errors


def _error(message: str, errors: list[str]) -> dict[str, Any]:
    return {"status": "invalid event" if errors else message, "message": message, "errors": errors}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path not in ("/v2/enqueue", "/enqueue"):
            self._answer(404, {"status": "not found", "message": self.path}, {})
            return
        answer = self.server.standin.handle(body)
        if answer is None:
            self.server.standin.wait_for_release()
            self.close_connection = True
            return
        self._answer(*answer)

    def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        answer_json(self, status, body, headers)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, standin: PagerDutyStandIn) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.standin = standin


@pytest.fixture
def pagerduty_standin() -> Iterator[PagerDutyStandIn]:
    """A PagerDuty Events API stand-in on a random 127.0.0.1 port; `.url` is the enqueue URL.

    Rate limit and window are plain attributes: set them before sending to test 429s.
    """
    standin = PagerDutyStandIn()
    server = _Server(standin)
    host, port = server.server_address[:2]
    standin.url = f"http://{host!s}:{port}/v2/enqueue"
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="pagerduty-standin", daemon=True
    )
    thread.start()
    try:
        yield standin
    finally:
        standin.release()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- Prism -------------------------------------------------------------------------------

PRISM_VERSION = "5.16.0"
PRISM_DIR = CACHE / "prism"
PRISM_BIN = PRISM_DIR / "node_modules" / ".bin" / "prism"
EVENTS_OPENAPI = SHARED / "pagerduty" / "events-v2.openapi.json"


def _install_prism() -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("Prism is needed for the contract tests but npm is not installed", False)
    result = subprocess.run(
        [npm, "install", "--prefix", str(PRISM_DIR), f"@stoplight/prism-cli@{PRISM_VERSION}"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0 or not PRISM_BIN.exists():
        pytest.fail(
            f"could not install Prism with npm (exit {result.returncode}):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}",
            False,
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(
    process: subprocess.Popen[bytes], port: int, log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")[-3000:]
            pytest.fail(f"Prism exited with {process.returncode}:\n{output}", False)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"Prism did not listen on 127.0.0.1:{port} within {timeout} s", False)


@pytest.fixture(scope="session")
def prism_events_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of Prism mocking PagerDuty's Events API v2 (POST `<url>/enqueue`)."""
    if not EVENTS_OPENAPI.exists():
        pytest.fail(f"PagerDuty's OpenAPI document is missing: {EVENTS_OPENAPI}", False)
    if not PRISM_BIN.exists():
        _install_prism()
    port = _free_port()
    # a file, not a pipe: Prism logs every request and would block on a full pipe
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [str(PRISM_BIN), "mock", "-h", "127.0.0.1", "-p", str(port), str(EVENTS_OPENAPI)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_listening(process, port, log, timeout=60.0)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
