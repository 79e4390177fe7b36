"""The daemon's cycle on trio's autojump clock: scripted samples (no agents), the real engine,
notifier and event building, exact timings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from netwatch.events import Event, dedup_key_for
from netwatch.inventory import DeviceConfig, Inventory, parse_inventory
from netwatch.monitor import Monitor
from netwatch.notifier import Notifier
from netwatch.samples import MetricReading, PingResult, Sample, SnmpReading

INVENTORY = """
[netwatch]
interval = "60s"
[pagerduty]
resend_interval = "60s"
[defaults]
profile = "linux"
hold_down = "2m"
recovery = "2m"
[defaults.snmp]
community = "public"
[[devices]]
id = "tower-1"
address = "192.0.2.1"
site = "north"
"""


class ScriptedProber:
    """Readings as a function of the trio clock: the pure-logic stand-in for the network."""

    def __init__(self, cpu: Callable[[float], float], temperature: Callable[[float], float]):
        self.cpu = cpu
        self.temperature = temperature

    async def poll(self, device: DeviceConfig) -> Sample:
        now = trio.current_time()
        await trio.sleep(0.4)  # a poll takes time; the engine must not care
        metrics = {
            "cpu": MetricReading(self.cpu(now), "hrProcessorLoad"),
            "temperature": MetricReading(self.temperature(now), "sensor 'cpu'"),
        }
        return Sample(
            device.id,
            trio.current_time(),
            ping=PingResult(device.address, 3, 3, (1.0, 1.2, 1.1)),
            snmp=SnmpReading(metrics),
        )


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[float, Event]] = []

    def submit(self, event: Event) -> None:
        self.sent.append((trio.current_time(), event))

    def pending(self) -> int:
        return 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep_forever()


def load(text: str = INVENTORY) -> Inventory:
    return parse_inventory(text, Path("devices.toml"))


async def run_for(seconds: float, inventory: Inventory, prober: ScriptedProber) -> RecordingSender:
    sender = RecordingSender()
    notifier = Notifier(routing_key="R" * 32, resend_interval=inventory.pagerduty.resend_interval)
    monitor = Monitor(inventory, prober, sender, notifier=notifier, wall_clock=trio.current_time)
    with trio.move_on_after(seconds):
        async with trio.open_nursery() as nursery:
            await nursery.start(monitor.run)
    return sender


async def test_trigger_after_hold_down_then_both_checks_then_resolve(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="netwatch")
    start = trio.current_time()

    def cpu(now: float) -> float:
        return 95.0 if now - start < 400 else 20.0

    def temperature(now: float) -> float:
        return 84.0 if 170 <= now - start < 400 else 45.0

    sender = await run_for(700, load(), ScriptedProber(cpu, temperature))
    timeline = [
        (round(at - start), e["event_action"], e.get("payload", {}).get("summary", ""))
        for at, e in sender.sent
    ]

    # Polls at 0, 60, 120, ...: failing since 0, a 2-minute hold-down fires on the third poll.
    assert timeline[0][:2] == (120, "trigger")
    assert "cpu 95" in timeline[0][2] and "temperature" not in timeline[0][2]
    # Temperature joins at the poll at 180 s: the trigger then names both, worst first.
    assert timeline[1][:2] == (180, "trigger")
    assert "cpu 95" in timeline[1][2] and "temperature 84" in timeline[1][2]
    # Unchanged incident re-sent every minute with the current checks.
    assert [t[:2] for t in timeline[2:5]] == [(240, "trigger"), (300, "trigger"), (360, "trigger")]
    # Healthy from the poll at 420 s; a 2-minute recovery hold resolves at 540 s, once.
    assert timeline[5:] == [(540, "resolve", "")]
    keys = {e["dedup_key"] for _, e in sender.sent}
    assert keys == {dedup_key_for("tower-1")}
    severities = [
        e["payload"]["severity"] for _, e in sender.sent if e["event_action"] == "trigger"
    ]
    assert set(severities) == {"critical"}
    changed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("CHANGED")]
    assert len(changed) == 1 and "temperature 84" in changed[0]


async def test_brief_spike_inside_hold_down_pages_nobody(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    sender = await run_for(
        600,
        load(),
        ScriptedProber(lambda now: 97.0 if 50 < now - start < 150 else 10.0, lambda now: 40.0),
    )
    assert sender.sent == []
