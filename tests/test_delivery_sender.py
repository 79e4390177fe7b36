"""EventsApiSender against the PagerDuty stand-in on 127.0.0.1 (real sockets, real time)."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Callable

import pytest
import trio
from support.pagerduty import PagerDutyStandIn

from netwatch.alerts import DeviceAlert, FailingCheck, Level
from netwatch.delivery import EventsApiSender, RejectedEvent, RetryPolicy
from netwatch.events import Event, dedup_key_for, resolve_event, trigger_event

ROUTING_KEY = "Rk0123456789abcdef0123456789abcd"
FAST = RetryPolicy(initial_backoff=0.05, multiplier=2.0, max_backoff=0.2, jitter=0.2)
NOW = 1_796_306_148.0


def trigger(device_id: str, value: float = 95.0, routing_key: str = ROUTING_KEY) -> Event:
    alert = DeviceAlert(
        device_id=device_id,
        name=device_id,
        address="192.0.2.1",
        site="tower-a",
        failing=(FailingCheck("cpu", Level.CRITICAL, value, "%", 90.0),),
        since=NOW - 60,
    )
    return trigger_event(alert, routing_key=routing_key, now=NOW)


def resolve(device_id: str) -> Event:
    return resolve_event(device_id, routing_key=ROUTING_KEY)


async def wait_until(condition: Callable[[], bool]) -> None:
    """Polls: the stand-in's state changes in its own threads, so there is no trio.Event to wait
    on. No deadline: these tests assert outcomes, never durations."""
    while not condition():  # noqa: ASYNC110
        await trio.sleep(0.01)


@pytest.fixture
async def nursery() -> AsyncIterator[trio.Nursery]:
    async with trio.open_nursery() as nursery:
        yield nursery
        nursery.cancel_scope.cancel()


async def start_sender(
    nursery: trio.Nursery, standin: PagerDutyStandIn, **options: object
) -> EventsApiSender:
    sender = EventsApiSender(url=standin.url, timeout=2.0, retry=FAST, **options)  # type: ignore[arg-type]
    await nursery.start(sender.run)
    return sender


async def test_an_accepted_trigger_opens_one_incident(
    nursery: trio.Nursery, pagerduty_standin: PagerDutyStandIn
) -> None:
    sender = await start_sender(nursery, pagerduty_standin)
    sender.submit(trigger("core-rtr-1"))
    await wait_until(lambda: sender.pending() == 0)
    assert pagerduty_standin.statuses() == [202]
    assert list(pagerduty_standin.open_incidents()) == ["netwatch/core-rtr-1"]
    assert sender.is_open("netwatch/core-rtr-1")


async def test_resending_updates_the_open_incident_and_resolve_closes_it(
    nursery: trio.Nursery, pagerduty_standin: PagerDutyStandIn
) -> None:
    sender = await start_sender(nursery, pagerduty_standin)
    for value in (95.0, 97.0):
        sender.submit(trigger("core-rtr-1", value))
        await wait_until(lambda: sender.pending() == 0)
    sender.submit(resolve("core-rtr-1"))
    await wait_until(lambda: sender.pending() == 0)
    assert pagerduty_standin.statuses() == [202, 202, 202]
    [incident] = pagerduty_standin.incidents
    assert (incident.status, incident.resolved_by) == ("resolved", "event")
    assert "97.0 %" in incident.summary
    assert len(incident.log) == 3


async def test_a_person_resolving_while_the_device_still_fails_gets_a_new_incident(
    nursery: trio.Nursery, pagerduty_standin: PagerDutyStandIn
) -> None:
    sender = await start_sender(nursery, pagerduty_standin)
    sender.submit(trigger("core-rtr-1"))
    await wait_until(lambda: sender.pending() == 0)
    pagerduty_standin.resolve_by_person("netwatch/core-rtr-1")
    sender.submit(trigger("core-rtr-1"))
    await wait_until(lambda: sender.pending() == 0)
    first, second = pagerduty_standin.incidents
    assert (first.status, first.resolved_by) == ("resolved", "person")
    assert second.status == "triggered"


async def test_400_is_not_retried_and_is_alarmed_with_pagerdutys_errors(
    nursery: trio.Nursery, pagerduty_standin: PagerDutyStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    alarms: list[RejectedEvent] = []
    sender = await start_sender(nursery, pagerduty_standin, on_alarm=alarms.append)
    bad = trigger("core-rtr-1")
    bad["payload"]["severity"] = "ok"
    sender.submit(bad)
    sender.submit(trigger("edge-1"))
    await wait_until(lambda: sender.pending() == 0)
    assert pagerduty_standin.statuses() == [400, 202]
    [rejected] = sender.rejected
    assert alarms == [rejected]
    assert rejected.status_code == 400
    assert any("payload.severity" in error for error in rejected.errors)
    assert rejected.event["payload"]["severity"] == "ok"
    assert "payload.severity" in caplog.text
    assert not sender.is_open("netwatch/core-rtr-1")


async def test_429_waits_for_retry_after_then_succeeds(
    nursery: trio.Nursery, pagerduty_standin: PagerDutyStandIn
) -> None:
    pagerduty_standin.rate_limit, pagerduty_standin.window = 2, 1.0
    sender = await start_sender(nursery, pagerduty_standin)
    for device in ("a", "b", "c"):
        sender.submit(trigger(device))
    await wait_until(lambda: sender.pending() == 0)
    statuses = pagerduty_standin.statuses()
    assert statuses == [202, 202, 429, 202]
    throttled, accepted = pagerduty_standin.requests[2:]
    assert accepted.at - throttled.at >= 1.0  # Retry-After: 1 was honoured
    assert set(pagerduty_standin.open_incidents()) == {"netwatch/a", "netwatch/b", "netwatch/c"}


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_retried(
    status: int, nursery: trio.Nursery, pagerduty_standin: PagerDutyStandIn
) -> None:
    pagerduty_standin.fail_next(3, status)
    sender = await start_sender(nursery, pagerduty_standin)
    sender.submit(trigger("core-rtr-1"))
    await wait_until(lambda: sender.pending() == 0)
    assert pagerduty_standin.statuses() == [status, status, status, 202]
    assert sender.rejected == []


async def test_a_server_that_hangs_times_out_and_is_retried(
    nursery: trio.Nursery, pagerduty_standin: PagerDutyStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    pagerduty_standin.hang_next(1)
    sender = EventsApiSender(url=pagerduty_standin.url, timeout=0.3, retry=FAST)
    await nursery.start(sender.run)
    sender.submit(trigger("core-rtr-1"))
    await wait_until(lambda: sender.pending() == 0)
    assert pagerduty_standin.statuses() == [0, 202]  # 0: the hung request got no answer
    assert "ReadTimeout" in caplog.text


async def test_connection_refused_is_retried_and_never_dropped(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as placeholder:  # bound, not listening: connection refused
        placeholder.bind(("127.0.0.1", 0))
        refused_url = f"http://127.0.0.1:{placeholder.getsockname()[1]}/v2/enqueue"
        sender = EventsApiSender(url=refused_url, timeout=1.0, retry=FAST)
        await nursery.start(sender.run)
        sender.submit(trigger("core-rtr-1"))
        await wait_until(lambda: caplog.text.count("ConnectError") >= 3)
        assert sender.pending() == 1
    assert sender.rejected == []


async def test_pagerduty_down_for_a_while_delays_but_delivers_everything_in_order(
    nursery: trio.Nursery, pagerduty_standin: PagerDutyStandIn
) -> None:
    sender = await start_sender(nursery, pagerduty_standin)
    for device in ("a", "b", "c"):
        sender.submit(trigger(device))
    await wait_until(lambda: sender.pending() == 0)

    pagerduty_standin.fail_next(8, 503)
    sender.submit(resolve("a"))
    sender.submit(trigger("b", 99.0))
    sender.submit(trigger("d"))
    sender.submit(resolve("c"))
    sender.submit(trigger("c", 96.0))  # recovered and failed again while PagerDuty was down
    await wait_until(lambda: sender.pending() == 0)

    assert pagerduty_standin.statuses().count(503) == 8
    assert pagerduty_standin.actions_for("netwatch/a") == ["trigger", "resolve"]
    assert pagerduty_standin.actions_for("netwatch/b") == ["trigger", "trigger"]
    assert pagerduty_standin.actions_for("netwatch/c") == ["trigger", "trigger"]
    assert pagerduty_standin.actions_for("netwatch/d") == ["trigger"]
    assert set(pagerduty_standin.open_incidents()) == {"netwatch/b", "netwatch/c", "netwatch/d"}
    assert "99.0 %" in pagerduty_standin.open_incidents()["netwatch/b"].summary
    assert sender.rejected == []


async def test_trigger_then_resolve_while_down_sends_nothing(
    nursery: trio.Nursery, pagerduty_standin: PagerDutyStandIn
) -> None:
    pagerduty_standin.fail_next(2, 503)
    sender = await start_sender(nursery, pagerduty_standin)
    sender.submit(trigger("flappy"))
    await wait_until(lambda: len(pagerduty_standin.requests) >= 1)
    sender.submit(resolve("flappy"))
    sender.submit(trigger("steady"))
    await wait_until(lambda: sender.pending() == 0)
    assert pagerduty_standin.actions_for(dedup_key_for("flappy")) == []
    assert pagerduty_standin.actions_for(dedup_key_for("steady")) == ["trigger"]


async def test_a_retry_carries_the_newest_event(
    nursery: trio.Nursery, pagerduty_standin: PagerDutyStandIn
) -> None:
    pagerduty_standin.fail_next(2, 500)
    sender = await start_sender(nursery, pagerduty_standin)
    sender.submit(trigger("core-rtr-1", 91.0))
    await wait_until(lambda: len(pagerduty_standin.requests) >= 1)
    sender.submit(trigger("core-rtr-1", 98.0))
    await wait_until(lambda: sender.pending() == 0)
    [incident] = pagerduty_standin.incidents
    assert "98.0 %" in incident.summary
    assert len(incident.log) == 1


async def test_the_routing_key_never_appears_in_logs_or_rejections(
    nursery: trio.Nursery, pagerduty_standin: PagerDutyStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pagerduty_standin.fail_next(1, 503)
    pagerduty_standin.hang_next(1)
    sender = EventsApiSender(url=pagerduty_standin.url, timeout=0.3, retry=FAST)
    await nursery.start(sender.run)
    sender.submit(trigger("core-rtr-1"))
    invalid = trigger("edge-1", routing_key=ROUTING_KEY + "x")  # 33 chars: PagerDuty says 400
    sender.submit(invalid)
    await wait_until(lambda: sender.pending() == 0)
    assert [r.status_code for r in sender.rejected] == [400]
    assert any("routing_key" in error for error in sender.rejected[0].errors)
    assert caplog.records
    assert ROUTING_KEY not in caplog.text
    assert ROUTING_KEY not in repr(sender.rejected)
    assert ROUTING_KEY not in repr(sender.__dict__.get("_pending"))


async def test_the_eu_url_and_the_default_url_are_configurable() -> None:
    from netwatch.delivery import DEFAULT_EVENTS_URL, EU_EVENTS_URL

    assert DEFAULT_EVENTS_URL == "https://events.pagerduty.com/v2/enqueue"
    assert EU_EVENTS_URL == "https://events.eu.pagerduty.com/v2/enqueue"
