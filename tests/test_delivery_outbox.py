"""The durable outbox: events written to SQLite before they are sent, removed only after a
202, and what a restart finds there. PagerDuty is the stand-in's logic behind an in-process
transport, so these run on trio's autojump clock with a real SQLite file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import trio
import trio.testing
from support.pagerduty import PagerDutyStandIn, StandInTransport

from netwatch.delivery import EventsApiSender, RetryPolicy
from netwatch.events import Event
from netwatch.store import open_store
from netwatch.store.outbox import DurableOutbox

ROUTING_KEY = "Rk0123456789abcdef0123456789abcd"
POLICY = RetryPolicy(initial_backoff=1.0, multiplier=2.0, max_backoff=30.0, jitter=0.0)


def trigger(key: str, summary: str = "down", severity: str = "critical") -> Event:
    return {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": summary, "severity": severity, "source": "192.0.2.1"},
    }


def follow_up(action: str, key: str) -> Event:
    return {"routing_key": ROUTING_KEY, "event_action": action, "dedup_key": key}


class Run:
    """One daemon lifetime: a store opened on `path`, a sender on it."""

    def __init__(self, path: Path, transport: StandInTransport) -> None:
        self.store = open_store(path)
        self.outbox = DurableOutbox(self.store, [ROUTING_KEY])
        self.sender = EventsApiSender(
            transport=transport, retry=POLICY, journal=self.outbox, rand=lambda: 0.5
        )


async def run_for(seconds: float, run: Run, actions: Callable[[EventsApiSender], None]) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(run.sender.run)
        actions(run.sender)
        await trio.sleep(seconds)
        nursery.cancel_scope.cancel()
    run.store.close()


def accepted(standin: PagerDutyStandIn) -> list[tuple[str, str]]:
    return [(e["event_action"], e["dedup_key"]) for e in standin.events]


def every_byte_in(folder: Path) -> bytes:
    """The store's files as written (database, WAL), to look for secrets in."""
    return b"".join(path.read_bytes() for path in folder.iterdir())


def standin() -> tuple[PagerDutyStandIn, StandInTransport]:
    pagerduty = PagerDutyStandIn(clock=trio.current_time)
    return pagerduty, StandInTransport(pagerduty)


async def test_events_survive_a_restart_and_are_removed_after_the_202(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pagerduty, transport = standin()
    transport.down = True
    first = Run(tmp_path / "state.db", transport)
    await run_for(60, first, lambda s: [s.submit(trigger(k)) for k in ("a", "b", "c")])
    assert pagerduty.events == []

    transport.down = False
    second = Run(tmp_path / "state.db", transport)
    assert second.sender.pending() == 3
    await run_for(10, second, lambda s: None)
    assert accepted(pagerduty) == [("trigger", "a"), ("trigger", "b"), ("trigger", "c")]
    third = Run(tmp_path / "state.db", transport)
    assert third.outbox.pending_count() == 0
    assert third.sender.pending() == 0
    assert all(third.sender.is_open(k) for k in ("a", "b", "c"))  # open keys survive too


async def test_a_resolve_after_a_restart_is_sent_for_a_trigger_that_got_through(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pagerduty, transport = standin()
    await run_for(5, Run(tmp_path / "state.db", transport), lambda s: s.submit(trigger("a")))
    await run_for(
        5, Run(tmp_path / "state.db", transport), lambda s: s.submit(follow_up("resolve", "a"))
    )
    assert accepted(pagerduty) == [("trigger", "a"), ("resolve", "a")]
    assert pagerduty.incidents[0].status == "resolved"


async def test_trigger_and_resolve_while_unreachable_send_nothing_across_restarts(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pagerduty, transport = standin()
    transport.down = True
    await run_for(30, Run(tmp_path / "state.db", transport), lambda s: s.submit(trigger("a")))
    await run_for(
        30, Run(tmp_path / "state.db", transport), lambda s: s.submit(follow_up("resolve", "a"))
    )
    transport.down = False
    last = Run(tmp_path / "state.db", transport)
    assert last.sender.pending() == 0
    await run_for(10, last, lambda s: None)
    assert pagerduty.requests == []


async def test_a_retry_after_restart_carries_the_newest_summary(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pagerduty, transport = standin()
    transport.down = True

    def two_minutes(sender: EventsApiSender) -> None:
        sender.submit(trigger("a", "cpu 91 %"))
        sender.submit(trigger("a", "cpu 99 %"))

    await run_for(30, Run(tmp_path / "state.db", transport), two_minutes)
    transport.down = False
    await run_for(5, Run(tmp_path / "state.db", transport), lambda s: None)
    assert [e["payload"]["summary"] for e in pagerduty.events] == ["cpu 99 %"]


async def test_a_rejected_event_is_kept_in_the_store_for_inspection(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pagerduty, transport = standin()
    bad = trigger("a", severity="ok")
    run = Run(tmp_path / "state.db", transport)
    await run_for(5, run, lambda s: s.submit(bad))
    again = Run(tmp_path / "state.db", transport)
    [rejection] = again.outbox.rejected()
    assert rejection.status_code == 400
    assert rejection.dedup_key == "a"
    assert any("payload.severity" in error for error in rejection.errors)
    assert rejection.event["payload"]["severity"] == "ok"
    assert again.outbox.pending_count() == 0
    assert pagerduty.events == []


async def test_the_routing_key_is_never_written_to_the_store(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    _, transport = standin()
    transport.down = True
    await run_for(
        5,
        Run(tmp_path / "state.db", transport),
        lambda s: [s.submit(trigger("a", severity="ok")), s.submit(trigger("b"))],
    )
    written = every_byte_in(tmp_path)
    assert ROUTING_KEY.encode() not in written
    assert Run(tmp_path / "state.db", transport).sender.pending() == 2


async def test_an_event_for_a_routing_key_no_longer_configured_stays_in_the_store(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    _, transport = standin()
    transport.down = True
    await run_for(5, Run(tmp_path / "state.db", transport), lambda s: s.submit(trigger("a")))
    store = open_store(tmp_path / "state.db")
    outbox = DurableOutbox(store, ["X" * 32])
    assert outbox.load() == []
    assert outbox.pending_count() == 1


async def test_another_process_can_hand_an_acknowledge_to_the_sender(
    tmp_path: Path, autojump_clock: trio.testing.MockClock
) -> None:
    pagerduty, transport = standin()
    run = Run(tmp_path / "state.db", transport)
    async with trio.open_nursery() as nursery:
        await nursery.start(run.sender.run)
        run.sender.submit(trigger("a"))
        await trio.sleep(1)
        cli = DurableOutbox(open_store(tmp_path / "state.db"), [ROUTING_KEY])
        assert cli.open_route("a") is not None
        cli.request(follow_up("acknowledge", "a"), now=0.0)
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    assert accepted(pagerduty) == [("trigger", "a"), ("acknowledge", "a")]
    assert pagerduty.incidents[0].status == "acknowledged"
