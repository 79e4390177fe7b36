"""The real daemon (`run_daemon`) in the test's trio run, with its web side on a random
loopback port: real ICMP to 127.0.0.x, real hypercorn, real SQLite."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio

from netwatch.daemon import run_daemon
from netwatch.inventory import load_inventory
from netwatch.monitor import Monitor

SECRETS = {
    "NW_TEST_COMMUNITY": "comm-Zq81-secret",
    "NW_TEST_ROUTING_KEY": "Rk0123456789abcdef0123456789abcd",
    "NW_TEST_API_TOKEN": "tok-u+Xy93-secret",
    "NW_TEST_HOOK_OLD": "hook-old-7f2c-secret",
    "NW_TEST_HOOK_NEW": "hook-new-91ad-secret",
}

# core-rtr answers ping; sector-a sits behind it; radio-dead pings but its SNMP port is
# closed, so its snmp check fails and (hold-down 0 s) it alerts in the first cycle.
INVENTORY = """
[netwatch]
interval = "1s"
[pagerduty]
routing_key = "env:NW_TEST_ROUTING_KEY"
events_url = "http://127.0.0.1:9/v2/enqueue"
[pagerduty_rest]
webhook_secrets = ["env:NW_TEST_HOOK_OLD", "env:NW_TEST_HOOK_NEW"]
[http]
port = 0
[defaults]
profile = "ping-only"
hold_down = "0s"
recovery = "0s"
[defaults.ping]
count = 1
timeout = "300ms"
[defaults.snmp]
community = "env:NW_TEST_COMMUNITY"
port = 9
timeout = "200ms"
retries = 0
[[devices]]
id = "core-rtr"
name = "Core router"
address = "127.0.0.1"
site = "north"
[[devices]]
id = "sector-a"
address = "127.0.0.2"
site = "north"
parent = "core-rtr"
[[devices]]
id = "radio-dead"
address = "127.0.0.3"
site = "south"
profile = "linux"
"""


@dataclass
class WebDaemon:
    url: str
    monitor: Monitor
    state_db: Path
    cycle_done: trio.Event
    completed: int = 0

    def _on_cycle(self, report: object) -> None:
        self.completed += 1
        self.cycle_done.set()

    async def wait_cycles(self, count: int) -> None:
        """Until `count` cycles have finished (the monitor counts a cycle when it starts)."""
        while self.completed < count:
            self.cycle_done = trio.Event()
            await self.cycle_done.wait()


def write_inventory(folder: Path, extra: str = "", text: str = INVENTORY) -> Path:
    path = folder / "devices.toml"
    path.write_text(text + extra)
    return path


@asynccontextmanager
async def running_web_daemon(
    folder: Path, monkeypatch: object, extra: str = "", text: str = INVENTORY
) -> AsyncIterator[WebDaemon]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)  # type: ignore[attr-defined]
    inventory = load_inventory(write_inventory(folder, extra, text))
    urls: list[str] = []
    state_db = folder / "state.db"
    async with trio.open_nursery() as nursery:
        monitor: Monitor = await nursery.start(
            lambda task_status: run_daemon(
                inventory,
                dry_run_stream=io.StringIO(),
                state_db=state_db,
                on_listening=urls.append,
                task_status=task_status,
            )
        )
        daemon = WebDaemon(urls[0], monitor, state_db, trio.Event())
        monitor.on_cycle(daemon._on_cycle)
        try:
            yield daemon
        finally:
            nursery.cancel_scope.cancel()
