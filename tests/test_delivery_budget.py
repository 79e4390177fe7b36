"""The per-routing-key rate budget (pure) and the urgent-first order of the outbox rules."""

from __future__ import annotations

import pytest

from netwatch.delivery import Decision
from netwatch.delivery.budget import RateBudget
from netwatch.delivery.pending import PendingEvents
from netwatch.events import Event

DONE, RETRY = Decision.DONE, Decision.RETRY


def test_a_budget_allows_limit_attempts_per_sliding_window() -> None:
    budget = RateBudget(limit=3, window=60.0)
    for now in (0.0, 10.0, 20.0):
        assert budget.has_room(now)
        budget.spend(now)
    assert not budget.has_room(59.9)
    assert budget.next_room(30.0) == 60.0  # the oldest attempt leaves the window
    assert budget.has_room(60.0)
    budget.spend(60.0)
    assert budget.next_room(60.0) == 70.0
    assert budget.next_room(100.0) == 100.0


@pytest.mark.parametrize(("limit", "window"), [(0, 60.0), (10, 0.0), (-1, 1.0)])
def test_a_budget_refuses_nonsense(limit: int, window: float) -> None:
    with pytest.raises(ValueError):
        RateBudget(limit=limit, window=window)


def trigger(key: str, severity: str = "critical", summary: str = "down") -> Event:
    return {
        "routing_key": "R" * 32,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": summary, "severity": severity, "source": "192.0.2.1"},
    }


def follow_up(action: str, key: str) -> Event:
    return {"routing_key": "R" * 32, "event_action": action, "dedup_key": key}


def drain(pending: PendingEvents) -> list[tuple[str, str]]:
    sent = []
    while (event := pending.take()) is not None:
        sent.append((event["event_action"], event["dedup_key"]))
        pending.finish(event, DONE)
    return sent


def test_first_pages_severity_changes_and_resolves_go_before_unchanged_resends() -> None:
    pending = PendingEvents()
    for key in ("old-1", "old-2", "old-3", "gone"):
        pending.submit(trigger(key))
    drain(pending)
    pending.submit(trigger("old-1"))  # unchanged re-send
    pending.submit(trigger("old-2"))  # unchanged re-send
    pending.submit(trigger("new"))  # first page
    pending.submit(trigger("old-3", severity="warning"))  # severity change
    pending.submit(follow_up("resolve", "gone"))
    assert drain(pending) == [
        ("trigger", "new"),
        ("trigger", "old-3"),
        ("resolve", "gone"),
        ("trigger", "old-1"),
        ("trigger", "old-2"),
    ]


def test_take_skips_events_that_are_not_allowed_now() -> None:
    pending = PendingEvents()
    pending.submit(trigger("a"))
    other = {**trigger("b"), "routing_key": "S" * 32}
    pending.submit(other)
    assert pending.take(lambda event: event["routing_key"] == "S" * 32) == other
    assert pending.take(lambda event: False) is None
    assert pending.waiting_routing_keys() == {"R" * 32}


def test_an_acknowledge_waits_for_its_trigger_and_a_resolve_cancels_it() -> None:
    pending = PendingEvents()
    pending.submit(trigger("a"))
    pending.submit(follow_up("acknowledge", "a"))
    assert drain(pending) == [("trigger", "a"), ("acknowledge", "a")]
    pending.submit(follow_up("acknowledge", "a"))
    pending.submit(follow_up("resolve", "a"))
    assert drain(pending) == [("resolve", "a")]


def test_an_acknowledge_for_a_key_never_open_is_not_sent() -> None:
    pending = PendingEvents()
    pending.submit(follow_up("acknowledge", "a"))
    assert drain(pending) == []
    assert len(pending) == 0


def test_a_trigger_that_may_have_arrived_gets_its_resolve() -> None:
    pending = PendingEvents()
    pending.submit(trigger("a"))
    in_flight = pending.take()
    assert in_flight is not None
    pending.submit(follow_up("resolve", "a"))
    pending.finish(in_flight, RETRY, may_have_arrived=True)  # e.g. a read timeout
    assert pending.is_open("a")
    assert drain(pending) == [("resolve", "a")]
    assert not pending.is_open("a")


def test_a_trigger_refused_before_sending_cancels_with_its_resolve() -> None:
    pending = PendingEvents()
    pending.submit(trigger("a"))
    in_flight = pending.take()
    assert in_flight is not None
    pending.submit(follow_up("resolve", "a"))
    pending.finish(in_flight, RETRY, may_have_arrived=False)  # connection refused
    assert drain(pending) == []


def test_the_record_of_a_key_in_flight_still_holds_its_event() -> None:
    pending = PendingEvents()
    pending.submit(trigger("a"))
    in_flight = pending.take()
    record = pending.record("a")
    assert record.state is not None and record.state.event == in_flight
    assert in_flight is not None
    pending.finish(in_flight, DONE)
    record = pending.record("a")
    assert record.state is None and record.severity == "critical"
