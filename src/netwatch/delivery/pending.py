"""The outbox's rules: what still has to reach PagerDuty, per dedup_key, in which order (pure).

PagerDuty keeps one alert per dedup_key, so only the net state of a key matters:
- a newer trigger replaces an older one not yet sent (a retry carries the current summary),
  a resolve replaces a trigger;
- one event per key is on the wire at a time, so a trigger always reaches PagerDuty before
  the acknowledge or resolve that follows it;
- an acknowledge or resolve is only sent for a key PagerDuty may hold open: a trigger and a
  resolve that both happened while PagerDuty was unreachable cancel out. "May": a trigger
  whose sending ended without an answer (a read timeout) may have opened an alert, so its
  resolve is sent (PagerDuty drops a resolve for a key it does not know).

Routing: PagerDuty applies a follow-up only under the routing key of its trigger, so while a
key may be open, every event taken for it goes with that trigger's routing key, whatever key
it was queued with (routing rules may have changed since).

Order between keys: urgent events first (a trigger for a key not open at PagerDuty, a
change of severity, every acknowledge and resolve), then re-sends of unchanged incidents,
each class oldest first. A retried event goes behind the others of its class.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from netwatch.delivery.retry import Decision
from netwatch.events import Event, routing_key_fingerprint

log = logging.getLogger("netwatch.delivery")

_FOLLOW_UPS = frozenset({"acknowledge", "resolve"})
_ACTIONS = frozenset({"trigger", *_FOLLOW_UPS})


class Openness(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"  # PagerDuty accepted a trigger and no resolve since
    MAYBE = "maybe"  # a trigger may have arrived: follow-ups are sent


@dataclass(slots=True)
class Queued:
    event: Event
    seq: int
    urgent: bool
    queued_at: float  # when this key first had something waiting (wall clock)

    @property
    def action(self) -> str:
        return str(self.event["event_action"])


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What must survive a restart for one dedup_key."""

    dedup_key: str
    state: Queued | None  # the trigger or resolve still to deliver (also while in flight)
    ack: Queued | None
    openness: Openness
    severity: str | None  # of the last trigger PagerDuty accepted
    routing_key: str | None  # of the last trigger PagerDuty accepted

    @property
    def empty(self) -> bool:
        return self.state is None and self.ack is None and self.openness is Openness.CLOSED


@dataclass(slots=True)
class _KeyState:
    state: Queued | None = None
    ack: Queued | None = None
    in_flight: Queued | None = None
    openness: Openness = Openness.CLOSED
    severity: str | None = None
    routing_key: str | None = None


class PendingEvents:
    """Events waiting for PagerDuty: the net state per dedup_key, and the order to send in."""

    def __init__(self, known_open: Iterable[str] = (), restored: Iterable[KeyRecord] = ()) -> None:
        # known_open: keys whose trigger got through before a restart
        self._keys: dict[str, _KeyState] = {
            key: _KeyState(openness=Openness.OPEN) for key in known_open
        }
        self._waiting: set[str] = set()
        self._seq = 0
        for record in restored:
            state = _KeyState(
                state=record.state,
                ack=record.ack,
                openness=record.openness,
                severity=record.severity,
                routing_key=record.routing_key,
            )
            self._keys[record.dedup_key] = state
            for queued in (record.state, record.ack):
                if queued is not None:
                    self._seq = max(self._seq, queued.seq)
            self._settle(record.dedup_key, state)

    def __len__(self) -> int:
        return sum(
            1
            for state in self._keys.values()
            if state.state is not None or state.ack is not None or state.in_flight is not None
        )

    def submit(self, event: Event, now: float = 0.0) -> str:
        """Queue an event; returns its dedup_key."""
        key, action = _key_and_action(event)
        state = self._keys.setdefault(key, _KeyState())
        if action == "acknowledge":
            state.ack = self._queued(event, state.ack, urgent=True, now=now)
        else:
            if action == "resolve":
                state.ack = None  # acknowledging is moot once resolved
                urgent = True
            else:
                urgent = state.openness is not Openness.OPEN or (_severity(event) != state.severity)
            state.state = self._queued(event, state.state, urgent=urgent, now=now)
        self._settle(key, state)
        if state.in_flight is None and self.record(key).empty:
            del self._keys[key]
        return key

    def take(self, allowed: Callable[[Event], bool] | None = None) -> Event | None:
        """The next event to send (now in flight), or None when nothing is ready (or allowed)."""
        best: tuple[bool, int, str] | None = None
        for key in self._waiting:
            queued = self._next_of(self._keys[key])
            if queued is None or (allowed is not None and not allowed(queued.event)):
                continue
            rank = (not queued.urgent, queued.seq, key)
            if best is None or rank < best:
                best = rank
        if best is None:
            return None
        key = best[2]
        state = self._keys[key]
        queued = self._next_of(state)
        assert queued is not None
        if queued is state.state:
            state.state = None
        else:
            state.ack = None
        event = queued.event
        pinned = state.routing_key
        if state.openness is not Openness.CLOSED and pinned and event.get("routing_key") != pinned:
            log.info(
                "the %s for %s goes with its trigger's routing key %s, not %s",
                queued.action,
                key,
                routing_key_fingerprint(pinned),
                routing_key_fingerprint(str(event.get("routing_key", ""))),
            )
            event = {**event, "routing_key": pinned}
            queued = Queued(event, queued.seq, queued.urgent, queued.queued_at)
        state.in_flight = queued
        self._waiting.discard(key)
        return event

    def waiting_routing_keys(self) -> set[str]:
        """Routing keys with an event ready to go (for the rate budget and backoff)."""
        keys = set()
        for key in self._waiting:
            queued = self._next_of(self._keys[key])
            if queued is not None:
                keys.add(str(queued.event.get("routing_key", "")))
        return keys

    def waiting_events(self) -> list[Event]:
        """Every event not yet delivered, urgent first, oldest first."""
        queued = [
            item
            for state in self._keys.values()
            for item in (state.in_flight, state.state, state.ack)
            if item is not None
        ]
        return [item.event for item in sorted(queued, key=lambda q: (not q.urgent, q.seq))]

    def is_urgent(self, dedup_key: str) -> bool:
        """Whether the key's waiting trigger or resolve is news (not an unchanged re-send)."""
        state = self._keys.get(dedup_key)
        return state is not None and state.state is not None and state.state.urgent

    def finish(self, event: Event, decision: Decision, *, may_have_arrived: bool = False) -> str:
        """Record what became of an event returned by take(); returns its dedup_key."""
        key, action = _key_and_action(event)
        state = self._keys[key]
        queued, state.in_flight = state.in_flight, None
        if decision is Decision.DONE:
            if action == "trigger":
                state.openness = Openness.OPEN
                state.severity = _severity(event)
                state.routing_key = str(event.get("routing_key", ""))
            elif action == "resolve":
                state.openness, state.severity, state.routing_key = Openness.CLOSED, None, None
                if state.state is not None:  # queued behind the resolve: a new incident
                    state.state.urgent = True
        elif decision is Decision.RETRY and queued is not None:
            if action == "trigger" and may_have_arrived and state.openness is Openness.CLOSED:
                state.openness = Openness.MAYBE
                state.routing_key = str(event.get("routing_key", ""))
            self._seq += 1
            queued.seq = self._seq
            if action == "acknowledge":
                if state.ack is None and (state.state is None or state.state.action != "resolve"):
                    state.ack = queued
            elif state.state is None:
                state.state = queued
        self._settle(key, state)
        if self.record(key).empty and state.in_flight is None:
            del self._keys[key]
        return key

    def is_open(self, dedup_key: str) -> bool:
        """Whether PagerDuty may hold an alert for this key (a trigger got, or may have got,
        through and no resolve since)."""
        state = self._keys.get(dedup_key)
        return state is not None and state.openness is not Openness.CLOSED

    def open_keys(self) -> list[str]:
        return [key for key, state in self._keys.items() if state.openness is not Openness.CLOSED]

    def record(self, dedup_key: str) -> KeyRecord:
        """The key's durable state: what a restart must still deliver, and whether it is open."""
        state = self._keys.get(dedup_key, _KeyState())
        pending_state, pending_ack = state.state, state.ack
        flying = state.in_flight
        if flying is not None:
            # in flight is not delivered: a crash now must send it again
            if flying.action == "acknowledge":
                pending_ack = pending_ack or flying
            elif pending_state is None:
                pending_state = flying
        return KeyRecord(
            dedup_key,
            pending_state,
            pending_ack,
            state.openness,
            state.severity,
            state.routing_key,
        )

    def oldest_queued_at(self) -> float | None:
        """When the longest-waiting event still undelivered was first queued."""
        times = [
            queued.queued_at
            for state in self._keys.values()
            for queued in (state.state, state.ack, state.in_flight)
            if queued is not None
        ]
        return min(times, default=None)

    def _queued(self, event: Event, replaced: Queued | None, *, urgent: bool, now: float) -> Queued:
        if replaced is not None:
            # a newer event for the key keeps the older one's place in the line
            return Queued(event, replaced.seq, urgent or replaced.urgent, replaced.queued_at)
        self._seq += 1
        return Queued(event, self._seq, urgent, now)

    def _next_of(self, state: _KeyState) -> Queued | None:
        if state.in_flight is not None:
            return None
        if state.state is not None:
            return state.state
        return state.ack

    def _settle(self, key: str, state: _KeyState) -> None:
        trigger_pending = (state.state is not None and state.state.action == "trigger") or (
            state.in_flight is not None and state.in_flight.action == "trigger"
        )
        if state.openness is Openness.CLOSED and not trigger_pending:
            for slot in ("state", "ack"):
                queued: Queued | None = getattr(state, slot)
                if queued is not None and queued.action in _FOLLOW_UPS:
                    log.info(
                        "not sending %s for %s: its trigger never got through", queued.action, key
                    )
                    setattr(state, slot, None)
        if self._next_of(state) is not None:
            self._waiting.add(key)
        else:
            self._waiting.discard(key)


def _severity(event: Event) -> str | None:
    payload = event.get("payload")
    return str(payload.get("severity")) if isinstance(payload, dict) else None


def _key_and_action(event: Event) -> tuple[str, str]:
    key = event.get("dedup_key")
    action = event.get("event_action")
    if not isinstance(key, str) or not key:
        raise ValueError("an event needs a dedup_key to be coalesced and ordered")
    if action not in _ACTIONS:
        raise ValueError(f"unknown event_action {action!r}")
    return key, str(action)
