"""The engine's memory in the store: device alert state, what was last sent per dedup key,
and each device's incident history. Written once per cycle in one transaction, so a kill -9
leaves either the whole cycle or none of it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from netwatch.alerts import FailingCheck, Level
from netwatch.checks import CheckVerdict
from netwatch.engine import DeviceState, Phase
from netwatch.incidents import EntryKind, HistoryEntry
from netwatch.inventory import Inventory
from netwatch.notifier import SentTrigger
from netwatch.store.db import Store, register_schema

register_schema(
    "alert_state",
    """
    CREATE TABLE IF NOT EXISTS alert_device_state (
        device_id TEXT PRIMARY KEY,
        state TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS alert_sent (
        dedup_key TEXT PRIMARY KEY,
        device_id TEXT NOT NULL,
        sent_at REAL NOT NULL,
        fingerprint TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS alert_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS incident (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        device_id TEXT NOT NULL,
        opened_at REAL NOT NULL,
        resolved_at REAL,
        summary TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS incident_by_device ON incident (device_id, opened_at);
    CREATE TABLE IF NOT EXISTS incident_entry (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        incident_id INTEGER NOT NULL REFERENCES incident (id),
        at REAL NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('opened', 'summary', 'resolved')),
        summary TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS incident_entry_by_incident ON incident_entry (incident_id, id);
    """,
)

_LAST_CYCLE_AT = "last_cycle_at"


def state_db_path(inventory: Inventory) -> Path:
    """`[netwatch] state_db`; a relative path is taken beside the inventory."""
    path = Path(inventory.settings.state_db)
    return path if path.is_absolute() else inventory.source.parent / path


# ---- DeviceState <-> JSON ----------------------------------------------------------------------


def state_to_json(state: DeviceState) -> str:
    return json.dumps(
        {
            "phase": state.phase.value,
            "failing_since": state.failing_since,
            "ok_since": state.ok_since,
            "incident_open": state.incident_open,
            "incident_since": state.incident_since,
            "down": state.down,
            "checks": [_verdict_to_json(v) for v in state.checks.values()],
            "failing": [_failing_to_json(c) for c in state.failing],
            "last_sample_at": state.last_sample_at,
            "bad": state.bad,
            "bad_polls": state.bad_polls,
            "good_polls": state.good_polls,
            "flap_changes": list(state.flap_changes),
            "flapping": state.flapping,
            "in_maintenance": state.in_maintenance,
            "profile": state.profile,
            "profile_reason": state.profile_reason,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


def state_from_json(text: str) -> DeviceState:
    raw = json.loads(text)
    checks = [_verdict_from_json(v) for v in raw["checks"]]
    return DeviceState(
        phase=Phase(raw["phase"]),
        failing_since=raw["failing_since"],
        ok_since=raw["ok_since"],
        incident_open=raw["incident_open"],
        incident_since=raw["incident_since"],
        down=raw["down"],
        checks={v.check: v for v in checks},
        failing=tuple(_failing_from_json(c) for c in raw["failing"]),
        last_sample_at=raw["last_sample_at"],
        bad=raw["bad"],
        bad_polls=raw["bad_polls"],
        good_polls=raw["good_polls"],
        flap_changes=tuple(raw["flap_changes"]),
        flapping=raw["flapping"],
        in_maintenance=raw["in_maintenance"],
        profile=raw.get("profile", ""),
        profile_reason=raw.get("profile_reason", ""),
    )


def _verdict_to_json(verdict: CheckVerdict) -> dict[str, Any]:
    return {field.name: getattr(verdict, field.name) for field in fields(CheckVerdict)}


def _verdict_from_json(raw: Mapping[str, Any]) -> CheckVerdict:
    # Rows written before a field existed take that field's default.
    known = {field.name for field in fields(CheckVerdict)}
    values = {name: value for name, value in raw.items() if name in known}
    return CheckVerdict(**{**values, "level": Level(raw["level"])})


def _failing_to_json(check: FailingCheck) -> dict[str, Any]:
    return {
        "check": check.check,
        "level": int(check.level),
        "value": check.value,
        "unit": check.unit,
        "threshold": check.threshold,
        "detail": check.detail,
    }


def _failing_from_json(raw: Mapping[str, Any]) -> FailingCheck:
    return FailingCheck(
        raw["check"],
        Level(raw["level"]),
        raw["value"],
        raw["unit"],
        raw["threshold"],
        raw["detail"],
    )


# ---- the store -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedAlertState:
    states: dict[str, DeviceState]
    sent: list[SentTrigger]
    last_cycle_at: float | None


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    id: int
    device_id: str
    opened_at: float
    resolved_at: float | None
    summary: str  # the latest summary
    entries: tuple[HistoryEntry, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "device_id": self.device_id,
            "opened_at": self.opened_at,
            "resolved_at": self.resolved_at,
            "summary": self.summary,
            "entries": [
                {"at": e.at, "kind": e.kind.value, "summary": e.summary} for e in self.entries
            ],
        }


class AlertStateStore:
    def __init__(self, store: Store) -> None:
        self._store = store
        # What the table holds, so a cycle writes only the rows that changed.
        self._written_states: dict[str, str] = {}
        self._written_sent: dict[str, SentTrigger] = {}

    def load(self) -> SavedAlertState:
        db = self._store.connection
        states: dict[str, DeviceState] = {}
        for device_id, text in db.execute("SELECT device_id, state FROM alert_device_state"):
            states[device_id] = state_from_json(text)
            self._written_states[device_id] = text
        sent = [
            SentTrigger(key, device_id, at, fp)
            for key, device_id, at, fp in db.execute(
                "SELECT dedup_key, device_id, sent_at, fingerprint FROM alert_sent"
            )
        ]
        self._written_sent = {s.dedup_key: s for s in sent}
        row = db.execute("SELECT value FROM alert_meta WHERE key = ?", (_LAST_CYCLE_AT,)).fetchone()
        return SavedAlertState(states, sent, float(row[0]) if row else None)

    def save_cycle(
        self,
        states: Mapping[str, DeviceState],
        sent: Iterable[SentTrigger],
        entries: Sequence[HistoryEntry],
        now: float,
    ) -> None:
        """Everything the cycle changed, in one transaction."""
        texts = {device_id: state_to_json(state) for device_id, state in states.items()}
        sent_now = {s.dedup_key: s for s in sent}
        with self._store.transaction() as db:
            gone = [d for d in self._written_states if d not in texts]
            db.executemany(
                "DELETE FROM alert_device_state WHERE device_id = ?", [(d,) for d in gone]
            )
            db.executemany(
                "INSERT OR REPLACE INTO alert_device_state (device_id, state) VALUES (?, ?)",
                [(d, t) for d, t in texts.items() if self._written_states.get(d) != t],
            )
            db.executemany(
                "DELETE FROM alert_sent WHERE dedup_key = ?",
                [(k,) for k in self._written_sent if k not in sent_now],
            )
            db.executemany(
                "INSERT OR REPLACE INTO alert_sent (dedup_key, device_id, sent_at, fingerprint)"
                " VALUES (?, ?, ?, ?)",
                [
                    (s.dedup_key, s.device_id, s.at, s.fingerprint)
                    for k, s in sent_now.items()
                    if self._written_sent.get(k) != s
                ],
            )
            for entry in entries:
                _record(db, entry)
            db.execute(
                "INSERT OR REPLACE INTO alert_meta (key, value) VALUES (?, ?)",
                (_LAST_CYCLE_AT, repr(now)),
            )
        self._written_states = texts
        self._written_sent = sent_now

    def incidents(self, device_id: str, limit: int = 20) -> list[IncidentRecord]:
        """The device's incidents, newest first, each with its entries oldest first."""
        db = self._store.connection
        rows = db.execute(
            "SELECT id, opened_at, resolved_at, summary FROM incident WHERE device_id = ?"
            " ORDER BY opened_at DESC, id DESC LIMIT ?",
            (device_id, limit),
        ).fetchall()
        records = []
        for incident_id, opened_at, resolved_at, summary in rows:
            entries = tuple(
                HistoryEntry(device_id, at, EntryKind(kind), text)
                for at, kind, text in db.execute(
                    "SELECT at, kind, summary FROM incident_entry WHERE incident_id = ?"
                    " ORDER BY id",
                    (incident_id,),
                )
            )
            records.append(
                IncidentRecord(incident_id, device_id, opened_at, resolved_at, summary, entries)
            )
        return records

    def incidents_of(self, device_id: str, limit: int) -> Sequence[Mapping[str, Any]]:
        """The HTTP side's view (http.sources.IncidentHistory)."""
        return [record.as_json() for record in self.incidents(device_id, limit)]


def _record(db: Any, entry: HistoryEntry) -> None:
    open_row = db.execute(
        "SELECT id FROM incident WHERE device_id = ? AND resolved_at IS NULL"
        " ORDER BY id DESC LIMIT 1",
        (entry.device_id,),
    ).fetchone()
    if entry.kind is EntryKind.OPENED or open_row is None:
        if entry.kind is EntryKind.RESOLVED:
            return  # nothing open to close (a history older than this store)
        cursor = db.execute(
            "INSERT INTO incident (device_id, opened_at, summary) VALUES (?, ?, ?)",
            (entry.device_id, entry.at, entry.summary),
        )
        incident_id = cursor.lastrowid
    else:
        incident_id = open_row[0]
        if entry.kind is EntryKind.RESOLVED:
            db.execute("UPDATE incident SET resolved_at = ? WHERE id = ?", (entry.at, incident_id))
        else:
            db.execute("UPDATE incident SET summary = ? WHERE id = ?", (entry.summary, incident_id))
    db.execute(
        "INSERT INTO incident_entry (incident_id, at, kind, summary) VALUES (?, ?, ?, ?)",
        (incident_id, entry.at, entry.kind.value, entry.summary),
    )
