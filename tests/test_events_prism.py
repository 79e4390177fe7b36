"""Every event shape the notifier can produce passes PagerDuty's published contract (Prism)."""

from __future__ import annotations

import httpx
import pytest
import trio

from netwatch.alerts import DeviceAlert, FailingCheck, Level
from netwatch.delivery import EventsApiSender
from netwatch.events import (
    Event,
    acknowledge_event,
    event_bytes,
    resolve_event,
    trigger_event,
)
from netwatch.notifier import MAINTENANCE_NOTE
from netwatch.routing import PagingPlan, Route

ROUTING_KEY = "R0123456789abcdef0123456789abcde"
STATUS_PAGE = PagingPlan(Route("default", ROUTING_KEY), status_page_url="https://noc.isp.example/")
NOW = 1_796_306_148.0
CPU = FailingCheck("cpu", Level.CRITICAL, 95.0, "%", 90.0)
TEMPERATURE = FailingCheck("temperature", Level.WARNING, 81.0, "°C", 75.0, "sensor 'cpu-temp'")
SNMP_TIMEOUT = FailingCheck("snmp", Level.CRITICAL, None, "", None, "timeout")


def alert(*failing: FailingCheck, **fields: object) -> DeviceAlert:
    values: dict[str, object] = {
        "device_id": "core-rtr-1",
        "name": "core-rtr-1",
        "address": "192.0.2.1",
        "site": "tower-a",
        "failing": failing,
        "since": NOW - 600,
    }
    values.update(fields)
    return DeviceAlert(**values)  # type: ignore[arg-type]


def many_checks(count: int) -> tuple[FailingCheck, ...]:
    return tuple(
        FailingCheck(f"sensor-{i}", Level(1 + i % 2), 50.0 + i, "°C", 45.0, "ß" * 20)
        for i in range(count)
    )


EVENT_SHAPES: dict[str, Event] = {
    "one check": trigger_event(alert(CPU), routing_key=ROUTING_KEY, now=NOW),
    "several checks": trigger_event(
        alert(TEMPERATURE, CPU, SNMP_TIMEOUT), routing_key=ROUTING_KEY, now=NOW
    ),
    "warning only": trigger_event(alert(TEMPERATURE), routing_key=ROUTING_KEY, now=NOW),
    "no failing check": trigger_event(alert(), routing_key=ROUTING_KEY, now=NOW),
    "unreachable children": trigger_event(
        alert(SNMP_TIMEOUT, unreachable_children=("radio-1", "radio-2")),
        routing_key=ROUTING_KEY,
        now=NOW,
    ),
    "without site": trigger_event(alert(CPU, site=None), routing_key=ROUTING_KEY, now=NOW),
    "with links": trigger_event(
        alert(CPU),
        routing_key=ROUTING_KEY,
        now=NOW,
        links=[("https://noc.example.net/devices/core-rtr-1", "NOC page")],
    ),
    "long ids": trigger_event(
        alert(CPU, device_id="d" * 400, name="n" * 400, address="a" * 400, site="s" * 400),
        routing_key=ROUTING_KEY,
        now=NOW,
    ),
    "non-ASCII at char 1024": trigger_event(
        alert(*many_checks(60), name="tour-€-" + "é" * 900), routing_key=ROUTING_KEY, now=NOW
    ),
    "sixty checks": trigger_event(alert(*many_checks(60)), routing_key=ROUTING_KEY, now=NOW),
    "shed to 512 kB": trigger_event(
        alert(CPU, unreachable_children=tuple(f"radio-{i}-" + "x" * 200 for i in range(3000))),
        routing_key=ROUTING_KEY,
        now=NOW,
    ),
    "resolve": resolve_event("core-rtr-1", routing_key=ROUTING_KEY),
    "acknowledge": acknowledge_event(
        "core-rtr-1", routing_key=ROUTING_KEY, note="Ana: on my way, ETA 20 min", now=NOW
    ),
    "acknowledge without note": acknowledge_event("d" * 400, routing_key=ROUTING_KEY, now=NOW),
    "resolve long id": resolve_event("d" * 400, routing_key=ROUTING_KEY),
    "routed, device UI and status page links": trigger_event(
        alert(CPU),
        routing_key=ROUTING_KEY,
        now=NOW,
        links=[
            ("https://192.0.2.1/admin?dev=core-rtr-1&site=tower-a", "core-rtr-1: web UI"),
            *STATUS_PAGE.links_for("core-rtr-1"),
        ],
    ),
    "maintenance acknowledge": acknowledge_event(
        "core-rtr-1", routing_key=ROUTING_KEY, note=MAINTENANCE_NOTE, now=NOW
    ),
}


def post(url: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{url}/enqueue", content=body, headers={"Content-Type": "application/json"}, timeout=30
    )


@pytest.mark.parametrize("shape", list(EVENT_SHAPES))
def test_prism_accepts_every_event_shape(prism_events_url: str, shape: str) -> None:
    response = post(prism_events_url, event_bytes(EVENT_SHAPES[shape]))
    assert response.status_code == 202, (
        f"{response.status_code} sl-violations: {response.headers.get('sl-violations')}\n"
        f"{response.text}"
    )


@pytest.mark.parametrize(
    "broken",
    [
        {"event_action": "trigger", "routing_key": ROUTING_KEY, "payload": {"summary": "x"}},
        {**EVENT_SHAPES["one check"], "event_action": "explode"},
        {
            **EVENT_SHAPES["one check"],
            "payload": {**EVENT_SHAPES["one check"]["payload"], "severity": "ok"},
        },
    ],
    ids=["no severity/source", "bad action", "severity ok"],
)
def test_prism_rejects_what_pagerduty_rejects(prism_events_url: str, broken: Event) -> None:
    response = post(prism_events_url, event_bytes(broken))
    assert response.status_code in (400, 422)
    assert response.headers.get("sl-violations")


async def test_the_sender_delivers_to_prism(prism_events_url: str) -> None:
    sender = EventsApiSender(url=f"{prism_events_url}/enqueue", timeout=30)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        sender.submit(EVENT_SHAPES["several checks"])
        while sender.pending():  # noqa: ASYNC110 (no event to wait on: Prism is a process)
            await trio.sleep(0.02)
        sender.submit(EVENT_SHAPES["resolve"])
        while sender.pending():  # noqa: ASYNC110
            await trio.sleep(0.02)
        nursery.cancel_scope.cancel()
    assert sender.rejected == []
    assert not sender.is_open("netwatch/core-rtr-1")
