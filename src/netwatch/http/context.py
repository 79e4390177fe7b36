"""Everything the HTTP app reads, in one place; built by the daemon, or by a test."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netwatch.delivery import Sender
from netwatch.events import dedup_key_for
from netwatch.http.observe import PollObserver
from netwatch.http.sources import IncidentHistory, PagingHealth
from netwatch.inventory import Inventory
from netwatch.monitor import CycleReport, Monitor
from netwatch.oncall import OncallService
from netwatch.store.webhooks import StoredActivity, WebhookLog

# A cycle may overrun its interval once (the monitor skips a start); two missed in a row
# means the pollers are stuck.
STALE_CYCLES = 2.5


@dataclass
class HttpContext:
    monitor: Monitor
    sender: Sender
    observer: PollObserver | None = None
    oncall: OncallService | None = None
    webhook_log: WebhookLog | None = None
    webhook_secrets: tuple[bytes, ...] = field(default=(), repr=False)
    history: IncidentHistory | None = None
    status_page_url: str | None = None
    wall_clock: Callable[[], float] = time.time
    last_cycle_at: float | None = None
    _keys: tuple[Inventory, dict[str, str]] | None = None

    def __post_init__(self) -> None:
        self.monitor.on_cycle(self._cycle_done)

    def _cycle_done(self, report: CycleReport) -> None:
        self.last_cycle_at = self.wall_clock()

    def device_for_key(self, incident_key: str | None) -> str | None:
        if incident_key is None:
            return None
        inventory = self.monitor.inventory
        if self._keys is None or self._keys[0] is not inventory:
            self._keys = (inventory, {dedup_key_for(d.id): d.id for d in inventory.devices})
        return self._keys[1].get(incident_key)

    def latest_activity(self) -> dict[str, StoredActivity]:
        if self.webhook_log is None:
            return {}
        keys = [dedup_key_for(d.id) for d in self.monitor.inventory.devices]
        return self.webhook_log.latest_by_key(keys)

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        now = self.wall_clock()
        interval = self.monitor.inventory.settings.interval
        problems: list[str] = []
        if not self.monitor.inventory.devices:
            problems.append("the inventory has no devices")
        if self.last_cycle_at is None:
            problems.append("no poll cycle has finished yet")
        elif now - self.last_cycle_at > STALE_CYCLES * interval:
            problems.append(f"no poll cycle finished for {now - self.last_cycle_at:.0f} s")
        paging = self.sender.paging_problem(now) if isinstance(self.sender, PagingHealth) else None
        if paging is not None:
            problems.append(f"paging failing: {paging}")
        return not problems, {
            "ready": not problems,
            "problems": problems,
            "devices": len(self.monitor.inventory.devices),
            "cycles": self.monitor.cycles,
            "last_cycle_at": self.last_cycle_at,
            "outbox_depth": self.sender.pending(),
        }
