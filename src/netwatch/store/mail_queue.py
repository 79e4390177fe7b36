"""The e-mail channel's memory in the store: pages and notices not yet accepted by the SMTP
server, and which news was mailed per dedup key. Each change is one short transaction, so a
kill -9 loses neither a queued page nor the knowledge that a page was mailed.

Routing keys are secrets and never written here: a mail does not need them, so the event is
stored without its `routing_key`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from netwatch.delivery.mail import Batch, KeyNews, MailItem, RecoveryNotice, SavedMail
from netwatch.store.db import Store, register_schema

register_schema(
    "mail_queue",
    """
    CREATE TABLE IF NOT EXISTS mail_item (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        why TEXT NOT NULL CHECK (why IN ('channel', 'fallback')),
        recipients TEXT NOT NULL,
        event TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS mail_notice (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        pending INTEGER NOT NULL,
        recipients TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS mail_news (
        dedup_key TEXT PRIMARY KEY,
        open INTEGER NOT NULL,
        severity TEXT,
        acknowledged INTEGER NOT NULL,
        resolved INTEGER NOT NULL
    );
    """,
)


class DurableMailQueue:
    """Blocking SQLite calls, one short transaction each (WAL, synchronous=FULL); they raise
    sqlite3.Error, and the channel decides what a failed write means."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def queue_item(self, item: MailItem, dedup_key: str, news: KeyNews) -> int:
        """Store a page to mail and the news it carries, together; the page's row."""
        body: dict[str, Any] = {k: v for k, v in item.event.items() if k != "routing_key"}
        with self._store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO mail_item (why, recipients, event) VALUES (?, ?, ?)",
                (item.why, json.dumps(item.recipients), json.dumps(body, ensure_ascii=False)),
            )
            _write_news(db, dedup_key, news)
        return _row(cursor.lastrowid)

    def remember(self, dedup_key: str, news: KeyNews) -> None:
        """News that reached people another way (PagerDuty took it)."""
        with self._store.transaction() as db:
            _write_news(db, dedup_key, news)

    def queue_notice(self, notice: RecoveryNotice) -> int:
        with self._store.transaction() as db:
            cursor = db.execute(
                "INSERT INTO mail_notice (at, pending, recipients) VALUES (?, ?, ?)",
                (notice.at, notice.pending, json.dumps(notice.recipients)),
            )
        return _row(cursor.lastrowid)

    def remove(self, batch: Batch) -> None:
        """The SMTP server accepted this message: forget what it carried."""
        items = [(item.row,) for item in batch.items if item.row is not None]
        notice = batch.notice.row if batch.notice is not None else None
        if not items and notice is None:
            return  # kept in memory only (the store could not be written)
        with self._store.transaction() as db:
            db.executemany("DELETE FROM mail_item WHERE id = ?", items)
            db.execute("DELETE FROM mail_notice WHERE id = ?", (notice,))

    def load(self) -> SavedMail:
        db = self._store.connection
        items = [
            MailItem(json.loads(event), tuple(json.loads(recipients)), why, row)
            for row, why, recipients, event in db.execute(
                "SELECT id, why, recipients, event FROM mail_item ORDER BY id"
            )
        ]
        notices = [
            RecoveryNotice(tuple(json.loads(recipients)), pending, at, row)
            for row, at, pending, recipients in db.execute(
                "SELECT id, at, pending, recipients FROM mail_notice ORDER BY id"
            )
        ]
        news = {
            key: KeyNews(bool(is_open), severity, bool(acknowledged), bool(resolved))
            for key, is_open, severity, acknowledged, resolved in db.execute(
                "SELECT dedup_key, open, severity, acknowledged, resolved FROM mail_news"
            )
        }
        return SavedMail(items, notices, news)

    def waiting_count(self) -> int:
        """Pages and notices stored and not yet accepted by the SMTP server."""
        row = self._store.connection.execute(
            "SELECT (SELECT count(*) FROM mail_item) + (SELECT count(*) FROM mail_notice)"
        ).fetchone()
        return int(row[0])


def _write_news(db: sqlite3.Connection, dedup_key: str, news: KeyNews) -> None:
    db.execute(
        "INSERT OR REPLACE INTO mail_news"
        " (dedup_key, open, severity, acknowledged, resolved) VALUES (?, ?, ?, ?, ?)",
        (dedup_key, news.open, news.severity, news.acknowledged, news.resolved),
    )


def _row(lastrowid: int | None) -> int:
    assert lastrowid is not None  # an INSERT into a rowid table always has one
    return lastrowid
