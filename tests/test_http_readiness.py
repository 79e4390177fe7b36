"""/readyz rules, pure: no cycle yet, a stale cycle, and a sender that says paging fails."""

from __future__ import annotations

from pathlib import Path

import trio

from netwatch.events import Event
from netwatch.http.context import HttpContext
from netwatch.inventory import DeviceConfig, parse_inventory
from netwatch.monitor import CycleReport, Monitor
from netwatch.notifier import Notifier
from netwatch.samples import Sample

INVENTORY = """
[netwatch]
interval = "60s"
[[devices]]
id = "a"
address = "127.0.0.1"
profile = "ping-only"
"""


class NoProber:
    async def poll(self, device: DeviceConfig) -> Sample:
        raise AssertionError("not polled in this test")


class FailingPaging:
    def __init__(self) -> None:
        self.problem: str | None = None

    def submit(self, event: Event) -> None:
        pass

    def pending(self) -> int:
        return 4

    def paging_problem(self, now: float) -> str | None:
        return self.problem

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()


def test_readiness_rules() -> None:
    inventory = parse_inventory(INVENTORY, Path("devices.toml"))
    sender = FailingPaging()
    monitor = Monitor(
        inventory, NoProber(), sender, notifier=Notifier(routing_key="R" * 32, resend_interval=60)
    )
    clock = [1000.0]
    context = HttpContext(monitor, sender, wall_clock=lambda: clock[0])
    assert context.readiness() == (
        False,
        {
            "ready": False,
            "problems": ["no poll cycle has finished yet"],
            "devices": 1,
            "cycles": 0,
            "last_cycle_at": None,
            "outbox_depth": 4,
        },
    )
    context._cycle_done(CycleReport.__new__(CycleReport))
    assert context.readiness()[0] is True
    clock[0] += 150  # the 2.5 intervals allowed
    assert context.readiness()[0] is True
    clock[0] += 1
    assert context.readiness()[1]["problems"] == ["no poll cycle finished for 151 s"]
    context._cycle_done(CycleReport.__new__(CycleReport))
    sender.problem = "PagerDuty unreachable for 12 min"
    assert context.readiness()[1]["problems"] == [
        "paging failing: PagerDuty unreachable for 12 min"
    ]
