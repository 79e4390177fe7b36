"""The in-memory outbox: newest event per dedup_key, trigger before resolve, nothing lost."""

from __future__ import annotations

import logging

import pytest

from netwatch.delivery import Decision
from netwatch.delivery.pending import PendingEvents
from netwatch.events import Event

DONE, RETRY, DROP = Decision.DONE, Decision.RETRY, Decision.DROP_AND_ALARM


def trigger(key: str, summary: str = "down") -> Event:
    return {
        "routing_key": "R" * 32,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": summary, "severity": "critical", "source": "192.0.2.1"},
    }


def resolve(key: str) -> Event:
    return {"routing_key": "R" * 32, "event_action": "resolve", "dedup_key": key}


def drain(pending: PendingEvents, decision: Decision = DONE) -> list[Event]:
    sent = []
    while (event := pending.take()) is not None:
        sent.append(event)
        pending.finish(event, decision)
    return sent


def test_newer_trigger_replaces_an_unsent_one_and_keeps_its_place() -> None:
    pending = PendingEvents()
    pending.submit(trigger("a", "first"))
    pending.submit(trigger("b"))
    pending.submit(trigger("a", "second"))
    assert len(pending) == 2
    assert drain(pending) == [trigger("a", "second"), trigger("b")]
    assert len(pending) == 0


def test_trigger_then_resolve_never_delivered_sends_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "netwatch.delivery")
    pending = PendingEvents()
    pending.submit(trigger("a"))
    pending.submit(resolve("a"))
    assert drain(pending) == []
    assert len(pending) == 0
    assert "its trigger never got through" in caplog.text


def test_resolve_of_a_key_never_triggered_is_dropped() -> None:
    pending = PendingEvents()
    pending.submit(resolve("a"))
    assert len(pending) == 0
    assert pending.take() is None


def test_resolve_after_a_delivered_trigger_is_sent() -> None:
    pending = PendingEvents()
    pending.submit(trigger("a"))
    assert drain(pending) == [trigger("a")]
    assert pending.is_open("a")
    pending.submit(trigger("a", "update"))
    pending.submit(resolve("a"))
    assert drain(pending) == [resolve("a")]
    assert not pending.is_open("a")


def test_known_open_keys_from_before_a_restart_can_be_resolved() -> None:
    pending = PendingEvents(known_open=["a"])
    pending.submit(resolve("a"))
    assert drain(pending) == [resolve("a")]


def test_resolve_while_its_trigger_is_in_flight_waits_for_the_outcome() -> None:
    pending = PendingEvents()
    pending.submit(trigger("a"))
    in_flight = pending.take()
    pending.submit(resolve("a"))
    assert pending.take() is None  # one event per key on the wire
    assert len(pending) == 1
    assert in_flight is not None
    pending.finish(in_flight, DONE)
    assert drain(pending) == [resolve("a")]


def test_resolve_after_an_in_flight_trigger_that_was_rejected_is_not_sent() -> None:
    pending = PendingEvents()
    pending.submit(trigger("a"))
    in_flight = pending.take()
    pending.submit(resolve("a"))
    assert in_flight is not None
    pending.finish(in_flight, DROP)
    assert drain(pending) == []
    assert len(pending) == 0


def test_a_retry_carries_the_newest_event_for_its_key() -> None:
    pending = PendingEvents()
    pending.submit(trigger("a", "first"))
    in_flight = pending.take()
    pending.submit(trigger("a", "second"))
    assert in_flight is not None
    pending.finish(in_flight, RETRY)
    assert drain(pending) == [trigger("a", "second")]


def test_a_failed_event_is_retried_behind_other_keys() -> None:
    pending = PendingEvents()
    pending.submit(trigger("a"))
    pending.submit(trigger("b"))
    first = pending.take()
    assert first is not None
    pending.finish(first, RETRY)
    assert len(pending) == 2
    assert drain(pending) == [trigger("b"), trigger("a")]


def test_retry_never_loses_the_event() -> None:
    pending = PendingEvents()
    pending.submit(trigger("a"))
    for _ in range(100):
        event = pending.take()
        assert event == trigger("a")
        pending.finish(event, RETRY)
    assert len(pending) == 1


def test_resolve_then_a_new_trigger_after_delivery_opens_again() -> None:
    pending = PendingEvents(known_open=["a"])
    pending.submit(resolve("a"))
    in_flight = pending.take()
    pending.submit(trigger("a", "again"))
    assert in_flight is not None
    pending.finish(in_flight, DONE)
    assert drain(pending) == [trigger("a", "again")]
    assert pending.is_open("a")


@pytest.mark.parametrize(
    "event",
    [
        {"event_action": "trigger"},
        {"event_action": "trigger", "dedup_key": ""},
        {"event_action": "explode", "dedup_key": "a"},
    ],
)
def test_events_without_key_or_action_are_refused(event: Event) -> None:
    with pytest.raises(ValueError):
        PendingEvents().submit(event)


def test_a_trigger_queued_while_its_resolve_is_in_flight_is_news_once_that_resolve_lands() -> None:
    # It opens a new incident: first in line, and what the fallback channel mails.
    pending = PendingEvents()
    pending.submit(trigger("a"))
    pending.submit(trigger("b"))
    assert drain(pending) == [trigger("a"), trigger("b")]  # both open at PagerDuty
    pending.submit(resolve("a"))
    in_flight = pending.take()
    assert in_flight == resolve("a")
    pending.submit(trigger("b"))  # a re-send of b's open incident
    pending.submit(trigger("a", "again"))
    pending.finish(in_flight, DONE)
    assert pending.is_urgent("a")
    assert not pending.is_urgent("b")
    assert drain(pending) == [trigger("a", "again"), trigger("b")]
