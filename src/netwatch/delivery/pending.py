"""The outbox in memory: the newest event per dedup_key, in order per key (pure).

PagerDuty keeps one alert per dedup_key, so only the newest event for a key matters: a
newer trigger replaces an older one not yet sent, a resolve replaces a trigger. One event
per key is on the wire at a time, so a trigger always reaches PagerDuty before the resolve
that follows it. A resolve is only sent for a key whose trigger got through (PagerDuty
ignores the rest): a trigger and resolve that both happened while PagerDuty was down
cancel out.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from netwatch.delivery.retry import Decision
from netwatch.events import Event

log = logging.getLogger("netwatch.delivery")

# acknowledge and resolve only apply to an alert PagerDuty has open
_FOLLOW_UPS = frozenset({"acknowledge", "resolve"})
_ACTIONS = frozenset({"trigger", *_FOLLOW_UPS})


@dataclass(slots=True)
class _KeyState:
    newest: Event | None = None
    in_flight: Event | None = None
    open_at_pagerduty: bool = False


class PendingEvents:
    """Events waiting for PagerDuty, newest per dedup_key, oldest key first."""

    def __init__(self, known_open: Iterable[str] = ()) -> None:
        # known_open: keys whose trigger got through before a restart (from the store)
        self._keys: dict[str, _KeyState] = {
            key: _KeyState(open_at_pagerduty=True) for key in known_open
        }
        self._ready: OrderedDict[str, None] = OrderedDict()

    def __len__(self) -> int:
        return sum(
            1
            for state in self._keys.values()
            if state.newest is not None or state.in_flight is not None
        )

    def submit(self, event: Event) -> None:
        key, _ = _key_and_action(event)
        state = self._keys.setdefault(key, _KeyState())
        state.newest = event
        self._settle(key, state)

    def take(self) -> Event | None:
        """The next event to send (now in flight), or None when nothing is ready."""
        if not self._ready:
            return None
        key, _ = self._ready.popitem(last=False)
        state = self._keys[key]
        event, state.newest, state.in_flight = state.newest, None, state.newest
        return event

    def finish(self, event: Event, decision: Decision) -> None:
        """Record what became of an event returned by take()."""
        key, action = _key_and_action(event)
        state = self._keys[key]
        state.in_flight = None
        if decision is Decision.DONE:
            if action == "trigger":
                state.open_at_pagerduty = True
            elif action == "resolve":
                state.open_at_pagerduty = False
        elif decision is Decision.RETRY and state.newest is None:
            state.newest = event
        self._settle(key, state)
        if state.newest is None and state.in_flight is None and not state.open_at_pagerduty:
            del self._keys[key]

    def is_open(self, dedup_key: str) -> bool:
        """Whether a trigger for this key got through and no resolve has yet."""
        state = self._keys.get(dedup_key)
        return state is not None and state.open_at_pagerduty

    def _settle(self, key: str, state: _KeyState) -> None:
        newest = state.newest
        if (
            newest is not None
            and state.in_flight is None
            and newest["event_action"] in _FOLLOW_UPS
            and not state.open_at_pagerduty
        ):
            log.info(
                "not sending %s for %s: its trigger never got through", newest["event_action"], key
            )
            state.newest = None
        if state.newest is not None and state.in_flight is None:
            self._ready.setdefault(key, None)
        else:
            self._ready.pop(key, None)


def _key_and_action(event: Event) -> tuple[str, str]:
    key = event.get("dedup_key")
    action = event.get("event_action")
    if not isinstance(key, str) or not key:
        raise ValueError("an event needs a dedup_key to be coalesced and ordered")
    if action not in _ACTIONS:
        raise ValueError(f"unknown event_action {action!r}")
    return key, str(action)
