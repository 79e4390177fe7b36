"""Which events go out each cycle. Pure: takes `now`.

One incident per alerting device. Its trigger is re-sent every `resend_interval` carrying the
device's *current* failing checks, so the PagerDuty incident always says what is wrong now and
is re-opened if a person resolved it while the device still fails. A change of the failing
checks, of severity or of flapping goes out at once. A resolve goes out when the engine closes
the incident.

What was last sent per dedup key is exported with `sent()` and loaded back with `restore()`,
so a restarted daemon neither repeats an unchanged trigger early nor forgets an incident.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from netwatch.alerts import DeviceAlert
from netwatch.engine import SCHEDULING_ALLOWANCE, CycleOutcome
from netwatch.events import Event, dedup_key_for, resolve_event, trigger_event


@dataclass(frozen=True, slots=True)
class SentTrigger:
    """The last trigger sent under one dedup key."""

    dedup_key: str
    device_id: str
    at: float
    fingerprint: str


def fingerprint(alert: DeviceAlert) -> str:
    """What makes a trigger worth sending at once when it changes (not values, which move
    every poll)."""
    return json.dumps(
        [
            int(alert.level),
            [[c.check, int(c.level)] for c in alert.failing],
            list(alert.unreachable_children),
            alert.flapping,
            alert.severity,
        ],
        separators=(",", ":"),
    )


class Notifier:
    def __init__(self, *, routing_key: str, resend_interval: float) -> None:
        self._routing_key = routing_key
        self._resend_interval = resend_interval
        self._last_sent: dict[str, SentTrigger] = {}

    def sent(self) -> list[SentTrigger]:
        return list(self._last_sent.values())

    def restore(self, sent: Iterable[SentTrigger]) -> None:
        self._last_sent = {s.dedup_key: s for s in sent}

    def events_for(self, outcome: CycleOutcome, now: float) -> list[Event]:
        events: list[Event] = []
        for device_id in outcome.resolved:
            self._last_sent.pop(dedup_key_for(device_id), None)
            events.append(resolve_event(device_id, routing_key=self._routing_key))
        for alert in outcome.alerts:
            if not alert.failing and not alert.flapping:
                continue  # recovering: nothing new to say, the resolve follows the recovery hold
            key = dedup_key_for(alert.device_id)
            current = fingerprint(alert)
            last = self._last_sent.get(key)
            due = (
                last is None
                or last.fingerprint != current
                or now - last.at + SCHEDULING_ALLOWANCE >= self._resend_interval
            )
            if due:
                self._last_sent[key] = SentTrigger(key, alert.device_id, now, current)
                events.append(trigger_event(alert, routing_key=self._routing_key, now=now))
        return events
