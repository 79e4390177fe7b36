"""Which events go out this cycle. Pure: takes `now`.

One incident per alerting device. Its trigger is re-sent every `resend_interval` carrying the
device's *current* failing checks, so the PagerDuty incident always says what is wrong now and
is re-opened if a person resolved it while the device still fails. A change of the failing
checks or of severity goes out at once. A resolve goes out when the engine closes the incident.
"""

from __future__ import annotations

from dataclasses import dataclass

from netwatch.alerts import DeviceAlert
from netwatch.engine import SCHEDULING_ALLOWANCE, CycleOutcome
from netwatch.events import Event, resolve_event, trigger_event


@dataclass(frozen=True, slots=True)
class _Sent:
    at: float
    fingerprint: tuple[object, ...]


def _fingerprint(alert: DeviceAlert) -> tuple[object, ...]:
    return (
        alert.level,
        tuple((c.check, c.level) for c in alert.failing),
        alert.unreachable_children,
    )


class Notifier:
    def __init__(self, *, routing_key: str, resend_interval: float) -> None:
        self._routing_key = routing_key
        self._resend_interval = resend_interval
        self._last_sent: dict[str, _Sent] = {}

    def events_for(self, outcome: CycleOutcome, now: float) -> list[Event]:
        events: list[Event] = []
        for device_id in outcome.resolved:
            self._last_sent.pop(device_id, None)
            events.append(resolve_event(device_id, routing_key=self._routing_key))
        for alert in outcome.alerts:
            if not alert.failing:
                continue  # recovering: nothing new to say, the resolve follows the recovery hold
            fingerprint = _fingerprint(alert)
            last = self._last_sent.get(alert.device_id)
            due = (
                last is None
                or last.fingerprint != fingerprint
                or now - last.at + SCHEDULING_ALLOWANCE >= self._resend_interval
            )
            if due:
                self._last_sent[alert.device_id] = _Sent(now, fingerprint)
                events.append(trigger_event(alert, routing_key=self._routing_key, now=now))
        return events
