"""kill -9 of a real `netwatch run` with 50 events in its outbox; the next run delivers each
exactly once (real process, real SQLite file, the stand-in on 127.0.0.1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from support.pagerduty import PagerDutyStandIn

from netwatch.delivery.pending import PendingEvents
from netwatch.store import open_store
from netwatch.store.outbox import DurableOutbox

ROUTING_KEY = "Rk0123456789abcdef0123456789abcd"
INVENTORY = """
[netwatch]
interval = "1s"
state_db = "state/netwatch.db"

[pagerduty]
routing_key = "env:NW_KILL9_ROUTING_KEY"
events_url = "{url}"

[http]
enabled = false

[[devices]]
id = "loopback"
address = "127.0.0.1"
profile = "ping-only"
"""


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30  # a hang guard only: nothing here asserts a duration
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"netwatch exited with {process.returncode} before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "netwatch.cli", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NW_KILL9_ROUTING_KEY": ROUTING_KEY, "PYTHONUNBUFFERED": "1"},
    )


def test_kill_9_with_50_events_in_the_outbox_then_restart_delivers_each_once(
    tmp_path: Path, pagerduty_standin: PagerDutyStandIn
) -> None:
    config = tmp_path / "devices.toml"
    config.write_text(INVENTORY.format(url=pagerduty_standin.url))
    db = tmp_path / "state" / "netwatch.db"
    store = open_store(db)
    outbox = DurableOutbox(store, [ROUTING_KEY])
    # 50 events a previous run queued: what the outbox looks like mid-outage
    pending = PendingEvents()
    keys = [f"netwatch/cpe-{i:02}" for i in range(50)]
    for key in keys:
        event = {
            "routing_key": ROUTING_KEY,
            "event_action": "trigger",
            "dedup_key": key,
            "payload": {"summary": f"{key} down", "severity": "critical", "source": "192.0.2.1"},
        }
        outbox.save(pending.record(pending.submit(event, now=1.0)))
    assert outbox.pending_count() == 50

    pagerduty_standin.fail_next(10_000, 503)
    first = start(config)
    try:
        wait_for(lambda: len(pagerduty_standin.requests) >= 2, "two refused attempts", first)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()
    assert first.returncode == -signal.SIGKILL
    assert outbox.pending_count() == 50
    assert pagerduty_standin.events == []

    pagerduty_standin.heal()
    second = start(config)
    try:
        wait_for(lambda: outbox.pending_count() == 0, "an empty outbox", second)
        second.send_signal(signal.SIGTERM)
        _, err = second.communicate(timeout=10)
    finally:
        second.kill()
    assert second.returncode == 0, err
    delivered = Counter(e["dedup_key"] for e in pagerduty_standin.events)
    assert delivered == Counter(keys)  # all 50, each exactly once
    assert set(pagerduty_standin.open_incidents()) == set(keys)
    assert ROUTING_KEY not in err
    store.close()
