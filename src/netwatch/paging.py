"""Wiring of the paging side: the durable outbox in the SQLite store behind the Events API
sender. The daemon calls `open_paging_sender`; `open_outbox` is how another process reaches
the same outbox."""

from __future__ import annotations

import logging

from netwatch.delivery import EventsApiSender
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
