"""Which events go out each cycle. Pure: takes `now`.

One incident per alerting device. Its trigger is re-sent every `resend_interval` carrying the
device's *current* failing checks, so the PagerDuty incident always says what is wrong now and
is re-opened if a person resolved it while the device still fails. A change of the failing
checks, of severity or of flapping goes out at once. A resolve goes out when the engine closes
the incident.

Where each device's events go (routing key, links) comes from a PagingPlan (routing.py),
replaced on reload with `configure()`. With `before` (the states the cycle started from), a
device that entered a maintenance window while its incident is open gets an acknowledge
(`[paging] ack_on_maintenance`). Inside a window an open incident gets no trigger at all (no
re-send, no change); the first cycle after the window re-sends it with the current checks.

What was last sent per dedup key is exported with `sent()` and loaded back with `restore()`,
so a restarted daemon neither repeats an unchanged trigger early nor forgets an incident.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netwatch.alerts import DeviceAlert
from netwatch.engine import CycleOutcome, DeviceState, allowance_for
from netwatch.events import (
    Event,
    acknowledge_event,
    dedup_key_for,
    resolve_event,
    trigger_event,
)
from netwatch.inventory import Inventory
from netwatch.routing import PagingPlan, plan_for, simple_plan

MAINTENANCE_NOTE = "maintenance window started"


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
    def __init__(
        self,
        *,
        resend_interval: float,
        routing_key: str | None = None,
        plan: PagingPlan | None = None,
    ) -> None:
        if plan is None:
            if routing_key is None:
                raise ValueError("a Notifier needs a routing_key or a plan")
            plan = simple_plan(routing_key)
        self.plan = plan
        self._planned_for: Inventory | None = None
        self._resend_interval = resend_interval
        self._last_sent: dict[str, SentTrigger] = {}

    @classmethod
    def for_inventory(cls, inventory: Inventory) -> Notifier:
        """Routing rules and links from the inventory, following `configure()` on reload."""
        notifier = cls(
            resend_interval=inventory.pagerduty.resend_interval, plan=plan_for(inventory)
        )
        notifier._planned_for = inventory
        return notifier

    def configure(self, inventory: Inventory) -> None:
        """Route by this inventory's rules from now on (cheap when it is the same object).
        A notifier built with a fixed routing key or plan keeps it."""
        if self._planned_for is not None and inventory is not self._planned_for:
            self.plan = plan_for(inventory)
            self._planned_for = inventory

    def sent(self) -> list[SentTrigger]:
        return list(self._last_sent.values())

    def restore(self, sent: Iterable[SentTrigger]) -> None:
        self._last_sent = {s.dedup_key: s for s in sent}

    def events_for(
        self,
        outcome: CycleOutcome,
        now: float,
        *,
        before: Mapping[str, DeviceState] | None = None,
    ) -> list[Event]:
        plan = self.plan
        events: list[Event] = []
        for device_id in outcome.resolved:
            self._last_sent.pop(dedup_key_for(device_id), None)
            route = plan.route_for(device_id)
            events.append(resolve_event(device_id, routing_key=route.routing_key))
        for alert in outcome.alerts:
            if not alert.failing and not alert.flapping:
                continue  # recovering: nothing new to say, the resolve follows the recovery hold
            state = outcome.states.get(alert.device_id)
            if state is not None and state.in_maintenance:
                # A window suppresses triggers, re-sends too (one would re-open an incident a
                # person resolved meanwhile); not marking them sent makes the first cycle
                # after the window re-send at once.
                continue
            key = dedup_key_for(alert.device_id)
            current = fingerprint(alert)
            last = self._last_sent.get(key)
            due = (
                last is None
                or last.fingerprint != current
                or now - last.at + allowance_for(self._resend_interval) >= self._resend_interval
            )
            if due:
                self._last_sent[key] = SentTrigger(key, alert.device_id, now, current)
                route = plan.route_for(alert.device_id, alert.severity)
                links = plan.links_for(alert.device_id)
                events.append(
                    trigger_event(alert, routing_key=route.routing_key, now=now, links=links)
                )
        if before is not None and plan.ack_on_maintenance:
            events.extend(self._maintenance_acks(outcome, before, now))
        return events

    def _maintenance_acks(
        self, outcome: CycleOutcome, before: Mapping[str, DeviceState], now: float
    ) -> list[Event]:
        """An acknowledge for every device whose incident was open and stays open as it
        enters a maintenance window: someone is working on it."""
        acks = []
        for alert in outcome.alerts:
            was = before.get(alert.device_id)
            state = outcome.states.get(alert.device_id)
            if was is None or state is None or not was.incident_open:
                continue
            if state.in_maintenance and not was.in_maintenance:
                route = self.plan.route_for(alert.device_id, alert.severity)
                acks.append(
                    acknowledge_event(
                        alert.device_id,
                        routing_key=route.routing_key,
                        now=now,
                        note=MAINTENANCE_NOTE,
                    )
                )
        return acks
