"""The webhook log: every PagerDuty webhook delivery we accepted (for de-duplication on
`X-Webhook-Id`), and who did what to which incident, matched to a device by incident key."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from netwatch.store.db import Store, register_schema
from netwatch.webhooks import IncidentActivity

register_schema(
    "webhooks",
    """
    CREATE TABLE IF NOT EXISTS webhook_deliveries (
        webhook_id  TEXT PRIMARY KEY,
        received_at REAL NOT NULL
    );
    CREATE TABLE IF NOT EXISTS incident_activity (
        event_id        TEXT PRIMARY KEY,
        webhook_id      TEXT NOT NULL,
        received_at     REAL NOT NULL,
        occurred_at     REAL NOT NULL,
        event_type      TEXT NOT NULL,
        action          TEXT NOT NULL,
        incident_id     TEXT NOT NULL,
        incident_number INTEGER,
        incident_key    TEXT,
        incident_status TEXT,
        incident_title  TEXT,
        html_url        TEXT,
        agent           TEXT,
        assignees       TEXT NOT NULL,
        device_id       TEXT
    );
    CREATE INDEX IF NOT EXISTS incident_activity_by_key
        ON incident_activity (incident_key, occurred_at);
    CREATE INDEX IF NOT EXISTS incident_activity_by_device
        ON incident_activity (device_id, occurred_at);
    """,
)


@dataclass(frozen=True, slots=True)
class StoredActivity:
    activity: IncidentActivity
    device_id: str | None
    received_at: float

    def as_json(self) -> dict[str, object]:
        a = self.activity
        return {
            "action": a.action,
            "event_type": a.event_type,
            "at": a.occurred_at,
            "by": a.agent,
            "incident_id": a.incident_id,
            "incident_number": a.incident_number,
            "incident_key": a.incident_key,
            "status": a.incident_status,
            "title": a.incident_title,
            "html_url": a.html_url,
            "assignees": list(a.assignees),
            "device_id": self.device_id,
        }


_COLUMNS = (
    "event_id, event_type, action, occurred_at, incident_id, incident_number, incident_key,"
    " incident_status, incident_title, html_url, agent, assignees, device_id, received_at"
)


class WebhookLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    def record(
        self,
        webhook_id: str,
        activity: IncidentActivity | None,
        *,
        device_id: str | None,
        received_at: float,
    ) -> bool:
        """Store one delivery; False (and nothing written) when this webhook id or event id
        was seen before: PagerDuty delivers at least once."""
        with self._store.transaction() as db:
            seen = db.execute(
                "INSERT OR IGNORE INTO webhook_deliveries VALUES (?, ?)", (webhook_id, received_at)
            )
            if seen.rowcount == 0:
                return False
            if activity is None:
                return True
            a = activity
            inserted = db.execute(
                "INSERT OR IGNORE INTO incident_activity (webhook_id, received_at, "
                + _COLUMNS.replace(", received_at", "")
                + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    webhook_id,
                    received_at,
                    a.event_id,
                    a.event_type,
                    a.action,
                    a.occurred_at,
                    a.incident_id,
                    a.incident_number,
                    a.incident_key,
                    a.incident_status,
                    a.incident_title,
                    a.html_url,
                    a.agent,
                    json.dumps(list(a.assignees)),
                    device_id,
                ),
            )
            return inserted.rowcount == 1

    def for_device(
        self, device_id: str, incident_key: str, limit: int = 20
    ) -> list[StoredActivity]:
        """Newest first: what people did to this device's incidents."""
        rows = self._store.connection.execute(
            f"SELECT {_COLUMNS} FROM incident_activity"
            " WHERE device_id = ? OR incident_key = ?"
            " ORDER BY occurred_at DESC, received_at DESC LIMIT ?",
            (device_id, incident_key, limit),
        ).fetchall()
        return [_row(row) for row in rows]

    def latest_by_key(self, incident_keys: Iterable[str]) -> dict[str, StoredActivity]:
        """The newest activity per incident key."""
        keys = list(incident_keys)
        found: dict[str, StoredActivity] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._store.connection.execute(
                f"SELECT {_COLUMNS} FROM incident_activity WHERE incident_key IN ({marks})"
                " ORDER BY occurred_at, received_at",
                chunk,
            ).fetchall()
            for row in rows:
                stored = _row(row)
                if stored.activity.incident_key is not None:
                    found[stored.activity.incident_key] = stored
        return found

    def deliveries(self) -> int:
        row = self._store.connection.execute("SELECT count(*) FROM webhook_deliveries").fetchone()
        return int(row[0])


def _row(row: tuple[object, ...]) -> StoredActivity:
    (
        event_id,
        event_type,
        action,
        occurred_at,
        incident_id,
        number,
        key,
        status,
        title,
        url,
        agent,
        assignees,
        device_id,
        received_at,
    ) = row
    activity = IncidentActivity(
        event_id=str(event_id),
        event_type=str(event_type),
        action=str(action),
        occurred_at=float(occurred_at),  # type: ignore[arg-type]
        incident_id=str(incident_id),
        incident_number=int(number) if number is not None else None,  # type: ignore[call-overload]
        incident_key=str(key) if key is not None else None,
        incident_status=str(status) if status is not None else None,
        incident_title=str(title) if title is not None else None,
        html_url=str(url) if url is not None else None,
        agent=str(agent) if agent is not None else None,
        assignees=tuple(json.loads(str(assignees))),
    )
    return StoredActivity(
        activity,
        str(device_id) if device_id is not None else None,
        float(received_at),  # type: ignore[arg-type]
    )
