"""Opening the SQLite store. Blocking calls, kept short: one small transaction per cycle or
per event, which SQLite in WAL mode finishes in well under a millisecond."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

_SCHEMAS: dict[str, str] = {}


def register_schema(name: str, ddl: str) -> None:
    """Tables of one area (`CREATE TABLE IF NOT EXISTS ...`), created when the store opens."""
    _SCHEMAS[name] = ddl


class Store:
    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: committed when the block ends, rolled back if it raises."""
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


class StoreOpenError(Exception):
    """The state database cannot be opened or set up (unwritable directory, full disk)."""


def open_store(path: Path | str) -> Store:
    """Open (creating if needed) the store. ":memory:" works for tests."""
    try:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        # FULL: a row written before an event is sent must survive a power cut, not kill -9.
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=5000")
        for ddl in _SCHEMAS.values():
            connection.executescript(ddl)
    except (OSError, sqlite3.Error) as exc:
        raise StoreOpenError(
            f"cannot open the state database {path}: {exc}; "
            "make it writable for netwatch or set [netwatch] state_db to a path that is"
        ) from None
    return Store(connection, Path(path))


def claim_store(path: Path) -> TextIO:
    """Hold the lock file beside the state database (PATH.lock) for as long as the returned
    file stays open: two daemons on one database would both send what its outbox and mail
    queue hold, and page everything twice. The kernel drops the lock with the process, after
    a kill -9 too. Commands that only read the store (status, history) do not take it."""
    lock_path = Path(f"{path}.lock")
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock_file = lock_path.open("a+", encoding="ascii")
    except OSError as exc:
        raise StoreOpenError(
            f"cannot open the state database {path} (its lock file: {exc.strerror}); "
            "make it writable for netwatch or set [netwatch] state_db to a path that is"
        ) from None
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.seek(0)
        holder = lock_file.read().strip()
        lock_file.close()
        raise StoreOpenError(
            f"the state database {path} is in use by another netwatch"
            f"{f' (pid {holder})' if holder.isdigit() else ''}; "
            "each daemon needs its own [netwatch] state_db"
        ) from None
    lock_file.truncate(0)
    lock_file.write(f"{os.getpid()}\n")
    lock_file.flush()
    return lock_file
