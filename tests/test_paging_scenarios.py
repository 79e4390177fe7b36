"""Scenarios from the issue, on trio's autojump clock with the stand-in's logic behind an
in-process transport (no sockets, so virtual time is safe) and a real SQLite outbox. Each
asserts the exact events PagerDuty accepted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import trio
import trio.testing
from support.pagerduty import PagerDutyStandIn, StandInTransport

from netwatch.alerts import DeviceAlert, FailingCheck, Level
from netwatch.delivery import EventsApiSender, RetryPolicy
from netwatch.events import SUMMARY_MAX_CHARS, Event, dedup_key_for, resolve_event, trigger_event
from netwatch.store import open_store
from netwatch.store.outbox import DurableOutbox

ROUTING_KEY = "Rk0123456789abcdef0123456789abcd"
POLICY = RetryPolicy(initial_backoff=1.0, multiplier=2.0, max_backoff=60.0, jitter=0.2)
EPOCH = 1_796_306_148.0
MINUTE = 60.0


def alert(device_id: str, cpu: float, *, level: Level = Level.CRITICAL) -> DeviceAlert:
    return DeviceAlert(
        device_id=device_id,
        name=device_id,
        address="192.0.2.1",
        site="tower-a",
        failing=(FailingCheck("cpu", level, cpu, "%", 90.0),),
        since=EPOCH,
    )


def trigger(device_id: str, cpu: float = 95.0, level: Level = Level.CRITICAL) -> Event:
    return trigger_event(alert(device_id, cpu, level=level), routing_key=ROUTING_KEY, now=EPOCH)


def resolve(device_id: str) -> Event:
    return resolve_event(device_id, routing_key=ROUTING_KEY)


def accepted(pagerduty: PagerDutyStandIn) -> list[tuple[str, str]]:
    return [(e["event_action"], e["dedup_key"].removeprefix("netwatch/")) for e in pagerduty.events]


async def minute_by_minute(
    sender: EventsApiSender, minutes: int, each_minute: Callable[[int], list[Event]]
) -> None:
    """What the notifier does: at the start of every minute, submit that minute's events."""
    start = trio.current_time()
    for minute in range(minutes):
        await trio.sleep_until(start + minute * MINUTE)
        for event in each_minute(minute):
            sender.submit(event)


async def test_pagerduty_down_25_minutes_while_devices_trigger_recover_and_trigger(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pagerduty = PagerDutyStandIn(clock=trio.current_time)
    transport = StandInTransport(pagerduty)
    store = open_store(tmp_path / "state.db")
    sender = EventsApiSender(
        transport=transport,
        retry=POLICY,
        journal=DurableOutbox(store, [ROUTING_KEY]),
        rand=lambda: 0.5,
        failing_threshold=10 * MINUTE,
        wall_clock=trio.current_time,
    )
    # "held" was paged before the outage and recovers during it; "steady" fails all along;
    # "blip" fails and recovers inside the outage; "flap" fails, recovers, fails again.
    failing = {
        "held": range(0, 10),
        "steady": range(1, 30),
        "blip": range(2, 6),
        "flap": [*range(3, 8), *range(12, 30)],
    }

    def each_minute(minute: int) -> list[Event]:
        if minute == 1:
            transport.down = True  # down from minute 1 to minute 26
        if minute == 26:
            transport.down = False
        events = []
        for device, minutes in failing.items():
            if minute in minutes:
                events.append(trigger(device, cpu=90.0 + minute))
            elif minute - 1 in minutes:
                events.append(resolve(device))
        return events

    health_during: list[bool] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)

        async def watch_health() -> None:
            await trio.sleep(20 * MINUTE)
            health_during.append(sender.delivery_health().healthy)

        nursery.start_soon(watch_health)
        await minute_by_minute(sender, 30, each_minute)
        await trio.sleep(MINUTE)
        nursery.cancel_scope.cancel()

    # Before the outage, one trigger. After it, the net state: "held"'s resolve (its trigger
    # got through), one trigger each for "steady" and "flap" with the *current* values, and
    # nothing at all for "blip". Then the unchanged re-sends of minutes 27-29.
    assert accepted(pagerduty)[:1] == [("trigger", "held")]
    after_outage = accepted(pagerduty)[1:4]
    assert sorted(after_outage) == [("resolve", "held"), ("trigger", "flap"), ("trigger", "steady")]
    assert accepted(pagerduty)[4:] == [("trigger", "steady"), ("trigger", "flap")] * 3
    assert pagerduty.actions_for("netwatch/blip") == []
    first_after = {e["dedup_key"]: e for e in pagerduty.events[1:4] if "payload" in e}
    assert "cpu 116.0 %" in first_after["netwatch/steady"]["payload"]["summary"]  # minute 26
    assert "cpu 116.0 %" in first_after["netwatch/flap"]["payload"]["summary"]
    # retried with backoff, not in a loop: 1, 2, 4 ... 32 s, then one attempt a minute (cap)
    assert 25 <= transport.refused <= 6 + 25
    assert sender.rejected == []
    assert health_during == [False]
    assert sender.delivery_health().healthy
    assert [i.status for i in pagerduty.incidents] == ["resolved", "triggered", "triggered"]


async def test_a_150_device_burst_stays_inside_the_budget_first_pages_and_resolves_first(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pagerduty = PagerDutyStandIn(clock=trio.current_time)  # 120 per sliding 60 s
    sender = EventsApiSender(
        transport=StandInTransport(pagerduty),
        retry=POLICY,
        journal=DurableOutbox(open_store(tmp_path / "state.db"), [ROUTING_KEY]),
        events_per_minute=100,
    )
    devices = [f"cpe-{i:03}" for i in range(150)]
    recovered = devices[:20]  # paged in the first window, recover at minute 1

    def each_minute(minute: int) -> list[Event]:
        if minute == 0:
            return [trigger(d) for d in devices]
        if minute == 1:
            return [resolve(d) for d in recovered] + [trigger(d) for d in devices[20:]]
        return [trigger(d) for d in devices[20:]]

    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        await minute_by_minute(sender, 3, each_minute)
        await trio.sleep(2 * MINUTE)
        nursery.cancel_scope.cancel()

    requests = pagerduty.requests
    assert [r.status for r in requests] == [202] * len(requests)  # not a single 429
    urgent = 150 + 20  # every first page and every resolve
    actions = accepted(pagerduty)
    assert actions[:100] == [("trigger", d) for d in devices[:100]]
    # minute 1: the 50 first pages still waiting and the 20 resolves, before any re-send
    assert sorted(actions[100:urgent]) == sorted(
        [("trigger", d) for d in devices[100:]] + [("resolve", d) for d in recovered]
    )
    # the budget's minimum time: 170 urgent events at 100 a minute are all in by minute 1
    assert max(r.at for r in requests[:urgent]) - requests[0].at == MINUTE
    assert all(a == "trigger" for a, _ in actions[urgent:])
    # and no more than the budget in any 60 s window
    times = [r.at for r in requests]
    assert all(sum(1 for t in times if s <= t < s + MINUTE) <= 100 for s in times)


async def test_a_429_waits_for_retry_after_instead_of_looping(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    # PagerDuty's own limit lower than our budget (e.g. an account-wide limit)
    pagerduty = PagerDutyStandIn(clock=trio.current_time, rate_limit=10)
    sender = EventsApiSender(transport=StandInTransport(pagerduty), retry=POLICY)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        for i in range(30):
            sender.submit(trigger(f"cpe-{i:02}"))
        await trio.sleep(5 * MINUTE)
        nursery.cancel_scope.cancel()
    statuses = [r.status for r in pagerduty.requests]
    assert statuses.count(202) == 30
    assert statuses.count(429) == 2  # one per window, then Retry-After is honoured
    assert {d for _, d in accepted(pagerduty)} == {f"cpe-{i:02}" for i in range(30)}


async def test_resolved_by_a_person_while_failing_reopens_exactly_one_incident(
    autojump_clock: trio.testing.MockClock,
) -> None:
    pagerduty = PagerDutyStandIn(clock=trio.current_time)
    sender = EventsApiSender(transport=StandInTransport(pagerduty), retry=POLICY)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)

        def each_minute(minute: int) -> list[Event]:
            if minute == 1:
                pagerduty.resolve_by_person("netwatch/core-1")
            return [trigger("core-1", cpu=95.0 + minute)]

        await minute_by_minute(sender, 4, each_minute)
        await trio.sleep(MINUTE)
        nursery.cancel_scope.cancel()
    assert accepted(pagerduty) == [("trigger", "core-1")] * 4
    first, second = pagerduty.incidents
    assert (first.status, first.resolved_by, len(first.log)) == ("resolved", "person", 1)
    assert (second.status, len(second.log)) == ("triggered", 3)
    assert "cpu 98.0 %" in second.summary


async def test_sixty_failing_checks_with_non_ascii_around_char_1024_are_accepted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    pagerduty = PagerDutyStandIn(clock=trio.current_time)
    sender = EventsApiSender(transport=StandInTransport(pagerduty), retry=POLICY)
    checks = tuple(
        FailingCheck(f"température-{i}", Level(1 + i % 2), 50.0 + i, "°C", 45.0, "capteur ß€")
        for i in range(60)
    )
    base = DeviceAlert("tour-é", "tour-€-" + "é" * 40, "192.0.2.1", "tower-a", checks, EPOCH)
    event = trigger_event(base, routing_key=ROUTING_KEY, now=EPOCH)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        sender.submit(event)
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    [delivered] = pagerduty.events
    summary = delivered["payload"]["summary"]
    assert [r.status for r in pagerduty.requests] == [202]
    assert len(summary) <= SUMMARY_MAX_CHARS
    assert summary.startswith("tour-€-é")
    kept = summary.count("température-")
    assert summary.endswith(f"… +{60 - kept} more") and kept < 60
    assert len(delivered["payload"]["custom_details"]["failing_checks"]) == 60
    assert delivered["dedup_key"] == dedup_key_for("tour-é")
