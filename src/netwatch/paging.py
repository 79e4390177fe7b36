"""Wiring of the paging side: the durable outbox in the SQLite store behind the Events API
sender. The daemon calls `open_paging_sender`; `open_outbox` is how another process reaches
the same outbox."""

from __future__ import annotations

import logging

from netwatch.delivery import EventsApiSender
from netwatch.events import acknowledge_event, dedup_key_for
from netwatch.inventory import Inventory
from netwatch.store import Store, open_store
from netwatch.store.alert_state import state_db_path
from netwatch.store.outbox import DurableOutbox

log = logging.getLogger("netwatch.delivery")


def open_outbox(inventory: Inventory) -> tuple[Store, DurableOutbox]:
    store = open_store(state_db_path(inventory))
    keys = [inventory.routing_key.decode()] if inventory.routing_key else []
    return store, DurableOutbox(store, keys)


def open_paging_sender(inventory: Inventory) -> EventsApiSender:
    """The Events API sender with its outbox in the store: events queued by a previous run
    (or a kill -9) are delivered first."""
    _, outbox = open_outbox(inventory)
    pagerduty = inventory.pagerduty
    return EventsApiSender(
        url=pagerduty.events_url,
        journal=outbox,
        events_per_minute=pagerduty.events_per_minute,
        failing_threshold=pagerduty.failing_threshold,
    )


class AcknowledgeRefused(Exception):
    """`netwatch ack` cannot acknowledge: unknown device, no open incident, no routing key."""


def request_acknowledge(inventory: Inventory, device_id: str, note: str | None, now: float) -> str:
    """Queue an acknowledge for a device's open incident in the store's outbox; the daemon
    (running now, or at its next start) delivers it in order after any pending trigger.
    Returns the dedup key. Going through the daemon's outbox instead of posting directly
    keeps one sender per routing key: the acknowledge counts against the same rate budget
    and can never overtake a trigger still waiting in the outbox."""
    if inventory.routing_key is None:
        raise AcknowledgeRefused("no PagerDuty routing key is configured (dry run)")
    if device_id not in inventory.by_id():
        raise AcknowledgeRefused(f"no device {device_id!r} in {inventory.source}")
    store, outbox = open_outbox(inventory)
    try:
        key = dedup_key_for(device_id)
        if outbox.open_route(key) is None:
            raise AcknowledgeRefused(f"{device_id} has no open PagerDuty incident")
        event = acknowledge_event(
            device_id, routing_key=inventory.routing_key.decode(), now=now, note=note
        )
        outbox.request(event, now)
        log.info("acknowledge for %s queued%s", device_id, f" ({note})" if note else "")
        return key
    finally:
        store.close()


def acknowledge_device(
    sender: EventsApiSender, routing_key: str, device_id: str, now: float, note: str | None
) -> bool:
    """For the engine side (maintenance starting while a device alerts, issue 6): queue an
    acknowledge on the running sender when PagerDuty may hold the device's incident open.
    Returns whether one was queued."""
    if not sender.is_open(dedup_key_for(device_id)):
        return False
    sender.submit(acknowledge_event(device_id, routing_key=routing_key, now=now, note=note))
    return True
