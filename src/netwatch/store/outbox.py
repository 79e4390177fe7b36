"""The durable outbox: events not yet accepted by PagerDuty, and the keys it holds open.

Routing keys are secrets and never written here: each row names its routing key by a
fingerprint (16 hex digits of its SHA-256), resolved back to the key from the inventory at
load. A row whose key is no longer configured stays in the table, logged, for inspection.

`outbox_request` is how another process (`netwatch ack`) hands an event to the daemon:
it inserts a row, the daemon's sender moves it into its queue and deletes it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from netwatch.delivery.pending import KeyRecord, Openness, Queued
from netwatch.events import Event
from netwatch.events import routing_key_fingerprint as route_of
from netwatch.store.db import Store, register_schema

log = logging.getLogger("netwatch.delivery")

register_schema(
    "outbox",
    """
    CREATE TABLE IF NOT EXISTS outbox_event (
        dedup_key TEXT NOT NULL,
        slot TEXT NOT NULL CHECK (slot IN ('state', 'ack')),
        seq INTEGER NOT NULL,
        urgent INTEGER NOT NULL,
        queued_at REAL NOT NULL,
        route TEXT NOT NULL,
        event TEXT NOT NULL,
        PRIMARY KEY (dedup_key, slot)
    );
    CREATE TABLE IF NOT EXISTS outbox_open_key (
        dedup_key TEXT PRIMARY KEY,
        openness TEXT NOT NULL,
        severity TEXT,
        route TEXT
    );
    CREATE TABLE IF NOT EXISTS outbox_rejected (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        rejected_at REAL NOT NULL,
        dedup_key TEXT NOT NULL,
        status_code INTEGER,
        reason TEXT NOT NULL,
        errors TEXT NOT NULL,
        event TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS outbox_request (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        requested_at REAL NOT NULL,
        route TEXT NOT NULL,
        event TEXT NOT NULL
    );
    """,
)


@dataclass(frozen=True, slots=True)
class StoredRejection:
    rejected_at: float
    dedup_key: str
    status_code: int | None
    reason: str
    errors: tuple[str, ...]
    event: Event  # routing_key left out


class DurableOutbox:
    """Blocking SQLite calls, one short transaction each (WAL, synchronous=FULL)."""

    def __init__(self, store: Store, routing_keys: Iterable[str]) -> None:
        self._store = store
        self._keys = {route_of(key): key for key in routing_keys}

    def save(self, record: KeyRecord) -> None:
        """Make the stored state of one dedup_key equal to `record`."""
        key = record.dedup_key
        with self._store.transaction() as db:
            for slot, queued in (("state", record.state), ("ack", record.ack)):
                if queued is None:
                    db.execute(
                        "DELETE FROM outbox_event WHERE dedup_key = ? AND slot = ?", (key, slot)
                    )
                    continue
                route, body = _strip_key(queued.event)
                # a key added by a reload is known from its first event on
                self._keys.setdefault(route, str(queued.event.get("routing_key", "")))
                db.execute(
                    "INSERT OR REPLACE INTO outbox_event"
                    " (dedup_key, slot, seq, urgent, queued_at, route, event)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (key, slot, queued.seq, int(queued.urgent), queued.queued_at, route, body),
                )
            if record.openness is Openness.CLOSED:
                db.execute("DELETE FROM outbox_open_key WHERE dedup_key = ?", (key,))
            else:
                open_route = route_of(record.routing_key) if record.routing_key else None
                db.execute(
                    "INSERT OR REPLACE INTO outbox_open_key (dedup_key, openness, severity, route)"
                    " VALUES (?, ?, ?, ?)",
                    (key, record.openness.value, record.severity, open_route),
                )

    def load(self) -> list[KeyRecord]:
        """Every key with something to deliver or held open, routing keys filled back in."""
        db = self._store.connection
        events: dict[str, dict[str, Queued]] = {}
        rows = db.execute(
            "SELECT dedup_key, slot, seq, urgent, queued_at, route, event FROM outbox_event"
        ).fetchall()
        for dedup_key, slot, seq, urgent, queued_at, route, body in rows:
            routing_key = self._keys.get(route)
            if routing_key is None:
                log.error(
                    "outbox: the %s for %s is for routing key %s, which is no longer configured;"
                    " left in the store, not sent",
                    json.loads(body).get("event_action"),
                    dedup_key,
                    route,
                )
                continue
            event = {"routing_key": routing_key, **json.loads(body)}
            events.setdefault(dedup_key, {})[slot] = Queued(event, seq, bool(urgent), queued_at)
        opened = {
            dedup_key: (Openness(openness), severity, self._keys.get(route or ""))
            for dedup_key, openness, severity, route in db.execute(
                "SELECT dedup_key, openness, severity, route FROM outbox_open_key"
            )
        }
        records = []
        for dedup_key in sorted(events.keys() | opened.keys()):
            slots = events.get(dedup_key, {})
            openness, severity, routing_key = opened.get(dedup_key, (Openness.CLOSED, None, None))
            records.append(
                KeyRecord(
                    dedup_key, slots.get("state"), slots.get("ack"), openness, severity, routing_key
                )
            )
        return records

    def pending_count(self) -> int:
        row = self._store.connection.execute("SELECT count(*) FROM outbox_event").fetchone()
        return int(row[0])

    def open_route(self, dedup_key: str) -> str | None:
        """The fingerprint of the routing key whose alert for this key may be open, else None."""
        row = self._store.connection.execute(
            "SELECT route FROM outbox_open_key WHERE dedup_key = ?", (dedup_key,)
        ).fetchone()
        if row is None:
            pending = self._store.connection.execute(
                "SELECT route FROM outbox_event WHERE dedup_key = ? AND slot = 'state'"
                " AND json_extract(event, '$.event_action') = 'trigger'",
                (dedup_key,),
            ).fetchone()
            return None if pending is None else str(pending[0])
        return str(row[0]) if row[0] is not None else ""

    def reject(
        self,
        event: Event,
        status_code: int | None,
        reason: str,
        errors: Iterable[str],
        now: float,
    ) -> None:
        """Keep an event PagerDuty refused, for a person to inspect."""
        _, body = _strip_key(event)
        row = (
            now,
            str(event.get("dedup_key")),
            status_code,
            reason,
            json.dumps(list(errors)),
            body,
        )
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO outbox_rejected"
                " (rejected_at, dedup_key, status_code, reason, errors, event)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )

    def rejected(self) -> list[StoredRejection]:
        rows = self._store.connection.execute(
            "SELECT rejected_at, dedup_key, status_code, reason, errors, event"
            " FROM outbox_rejected ORDER BY id"
        )
        return [
            StoredRejection(at, key, status, reason, tuple(json.loads(errors)), json.loads(body))
            for at, key, status, reason, errors, body in rows
        ]

    def request(self, event: Event, now: float) -> None:
        """Hand an event to the daemon (from another process)."""
        route, body = _strip_key(event)
        with self._store.transaction() as db:
            db.execute(
                "INSERT INTO outbox_request (requested_at, route, event) VALUES (?, ?, ?)",
                (now, route, body),
            )

    def take_requests(self) -> list[Event]:
        """Events other processes handed over, oldest first; removed from the table."""
        with self._store.transaction() as db:
            rows = db.execute("SELECT id, route, event FROM outbox_request ORDER BY id").fetchall()
            db.execute("DELETE FROM outbox_request WHERE id <= ?", (rows[-1][0] if rows else 0,))
        events = []
        for _, route, body in rows:
            routing_key = self._keys.get(route)
            if routing_key is None:
                log.error("outbox: a request for unknown routing key %s was dropped", route)
                continue
            events.append({"routing_key": routing_key, **json.loads(body)})
        return events


def _strip_key(event: Event) -> tuple[str, str]:
    body: dict[str, Any] = {k: v for k, v in event.items() if k != "routing_key"}
    return route_of(str(event.get("routing_key", ""))), json.dumps(body, ensure_ascii=False)
