"""The on-call client against a real loopback server answering with PagerDuty's documented
`/oncalls` example, with pagination and 429s; grouping into now/next is pure."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.pagerduty_rest import oncalls_example, rest_standin

from netwatch.oncall import (
    ACCEPT,
    OnCallEntry,
    OncallError,
    OncallService,
    fetch_oncalls,
    group_by_level,
)

TOKEN = "u+tok-Zq81-secret"
# inside the example's shift (2015-03-06T15:28:51-05:00 .. 2015-03-07T15:28:51-05:00)
DURING_EXAMPLE = datetime.fromisoformat("2015-03-07T00:00:00-05:00").timestamp()


def entry(user: str, level: int, start: float | None, end: float | None) -> dict[str, Any]:
    def iso(t: float | None) -> str | None:
        return None if t is None else datetime.fromtimestamp(t).astimezone().isoformat()

    return {
        "user": {"id": "P" + user.upper(), "type": "user_reference", "summary": user},
        "schedule": None,
        "escalation_policy": {
            "id": "PPOL",
            "type": "escalation_policy_reference",
            "summary": "NOC",
        },
        "escalation_level": level,
        "start": iso(start),
        "end": iso(end),
    }


async def test_documented_example_with_the_real_headers() -> None:
    with rest_standin(TOKEN) as server:
        async with httpx.AsyncClient() as client:
            entries = await fetch_oncalls(
                client, api_url=server.url, token=TOKEN.encode(), now=DURING_EXAMPLE
            )
    assert entries == [
        OnCallEntry(
            policy="Engineering Escalation Policy",
            policy_id="PT20YPA",
            level=2,
            user="Tim Wright",
            user_id="PT23IWX",
            schedule="Daily Engineering Rotation",
            start=datetime.fromisoformat("2015-03-06T15:28:51-05:00").timestamp(),
            end=datetime.fromisoformat("2015-03-07T15:28:51-05:00").timestamp(),
        )
    ]
    (request,) = server.requests
    assert request["headers"]["Accept"] == ACCEPT
    assert request["headers"]["Authorization"] == f"Token token={TOKEN}"
    assert request["query"]["earliest"] == "true"
    assert request["query"]["offset"] == "0" and request["query"]["limit"] == "100"
    levels = group_by_level(entries, DURING_EXAMPLE)
    assert [(lv.level, [e.user for e in lv.now], lv.next) for lv in levels] == [
        (2, ["Tim Wright"], None)
    ]


async def test_every_page_is_fetched() -> None:
    template = oncalls_example()["oncalls"][0]
    many = [
        {**template, "user": {**template["user"], "id": f"U{i}", "summary": f"user {i}"}}
        for i in range(230)
    ]
    with rest_standin(TOKEN, many) as server:
        async with httpx.AsyncClient() as client:
            entries = await fetch_oncalls(
                client, api_url=server.url, token=TOKEN.encode(), now=DURING_EXAMPLE
            )
    assert [e.user_id for e in entries] == [f"U{i}" for i in range(230)]
    assert [r["query"]["offset"] for r in server.requests] == ["0", "100", "200"]


async def test_429_waits_ratelimit_reset_then_asks_again() -> None:
    waited: list[float] = []

    async def record_sleep(seconds: float) -> None:
        waited.append(seconds)

    with rest_standin(TOKEN) as server:
        server.throttle_next = 2
        async with httpx.AsyncClient() as client:
            entries = await fetch_oncalls(
                client,
                api_url=server.url,
                token=TOKEN.encode(),
                now=DURING_EXAMPLE,
                sleep=record_sleep,
            )
        assert waited == [3.0, 3.0]
        assert len(server.requests) == 3
        assert [e.user for e in entries] == ["Tim Wright"]

        server.throttle_next = 10
        async with httpx.AsyncClient() as client:
            with pytest.raises(OncallError, match="429"):
                await fetch_oncalls(
                    client,
                    api_url=server.url,
                    token=TOKEN.encode(),
                    now=DURING_EXAMPLE,
                    sleep=record_sleep,
                )


async def test_last_known_answer_with_its_age_when_pagerduty_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [DURING_EXAMPLE]
    with rest_standin(TOKEN) as server:
        service = OncallService(
            api_url=server.url, token=TOKEN.encode(), wall_clock=lambda: clock[0]
        )
        async with httpx.AsyncClient() as client:
            first = await service.refresh(client)
            clock[0] += 600
            server.fail_with = 503
            with caplog.at_level(logging.WARNING):
                second = await service.refresh(client)
    assert first.error is None
    assert second.entries == first.entries
    assert second.error == "PagerDuty answered HTTP 503 to /oncalls"
    view = second.as_json(clock[0])
    assert view["age_seconds"] == 600
    assert view["levels"][0]["now"][0]["user"] == "Tim Wright"
    # nothing listens on port 9 of loopback: unreachable, still the old answer
    service.api_url = "http://127.0.0.1:9"
    async with httpx.AsyncClient() as client:
        third = await service.refresh(client)
    assert third.error == "PagerDuty unreachable: ConnectError"
    assert third.entries == first.entries
    assert TOKEN not in caplog.text


def test_now_and_next_per_level() -> None:
    now = 1_000_000.0
    entries = [
        OnCallEntry("NOC", "P1", 1, "Ann", "A", "week", now - 100, now + 100),
        OnCallEntry("NOC", "P1", 1, "Bob", "B", "week", now + 100, now + 200),
        OnCallEntry("NOC", "P1", 1, "Cid", "C", "week", now + 200, now + 300),
        OnCallEntry("NOC", "P1", 2, "Dee", "D", None, None, None),
    ]
    levels = group_by_level(entries, now)
    assert [(lv.level, [e.user for e in lv.now], lv.next and lv.next.user) for lv in levels] == [
        (1, ["Ann"], "Bob"),
        (2, ["Dee"], None),
    ]
    # the cached answer regroups as shifts hand over
    later = group_by_level(entries, now + 150)
    assert [[e.user for e in lv.now] for lv in later] == [
        ["Bob"],
        ["Dee"],
    ]


def test_oncall_command(tmp_path: Path) -> None:
    import time

    now = time.time()
    entries = [entry("Ann Tech", 1, now - 3600, now + 3600), entry("Bob Tech", 1, now + 3600, None)]
    with rest_standin(TOKEN, entries) as server:
        config = tmp_path / "devices.toml"
        config.write_text(
            f'[pagerduty_rest]\napi_token = "env:NW_TOKEN"\napi_url = "{server.url}"\n'
            '[[devices]]\nid = "a"\naddress = "127.0.0.1"\nprofile = "ping-only"\n'
        )
        done = subprocess.run(
            [sys.executable, "-m", "netwatch.cli", "oncall", "--config", str(config)],
            capture_output=True,
            text=True,
            env={"NW_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"},
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("NOC level 1: Ann Tech; next Bob Tech from ")
    assert TOKEN not in done.stdout + done.stderr
