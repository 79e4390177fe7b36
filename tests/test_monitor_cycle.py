"""The daemon's cycle on trio's autojump clock: scripted samples (no agents), the real engine,
notifier and event building, exact timings."""

from __future__ import annotations

import logging
import math
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


class CountingProber:
    """Polls that take `seconds` (forever for the devices in `hanging`), counting how many run
    at once."""

    def __init__(self, seconds: float, hanging: frozenset[str] = frozenset()) -> None:
        self.seconds = seconds
        self.hanging = hanging
        self.running = 0
        self.most_at_once = 0
        self.polled: list[str] = []

    async def poll(self, device: DeviceConfig) -> Sample:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await trio.sleep(math.inf if device.id in self.hanging else self.seconds)
        finally:
            self.running -= 1
        self.polled.append(device.id)
        return Sample(device.id, trio.current_time(), ping=PingResult(device.address, 1, 1))


def many_devices(count: int, max_concurrent_polls: int) -> Inventory:
    devices = "".join(
        f'[[devices]]\nid = "d{n}"\naddress = "192.0.2.{n % 250 + 1}"\n' for n in range(count)
    )
    return load(
        f'[netwatch]\ninterval = "60s"\nmax_concurrent_polls = {max_concurrent_polls}\n'
        f'[defaults]\nprofile = "ping-only"\n{devices}'
    )


@pytest.mark.parametrize(
    ("devices", "limit", "expected_at_once", "expected_duration"),
    [
        (10, 3, 3, 4.0),  # 3 + 3 + 3 + 1 polls of one second each
        (10, 1, 1, 10.0),
        (4, 100, 4, 1.0),  # never more pollers than devices
    ],
)
async def test_max_concurrent_polls_bounds_the_polls_in_flight_and_polls_every_device(
    autojump_clock: trio.testing.MockClock,
    devices: int,
    limit: int,
    expected_at_once: int,
    expected_duration: float,
) -> None:
    inventory = many_devices(devices, limit)
    prober = CountingProber(1.0)
    notifier = Notifier.for_inventory(inventory)
    monitor = Monitor(inventory, prober, RecordingSender(), notifier=notifier)

    report = await monitor.run_one_cycle(deadline=trio.current_time() + 60)

    assert prober.most_at_once == expected_at_once
    assert sorted(prober.polled) == sorted(d.id for d in inventory.devices)
    assert (report.polled, report.late) == (devices, 0)
    assert report.duration == pytest.approx(expected_duration)


async def test_polls_still_running_at_the_deadline_are_late_and_the_rest_are_polled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    inventory = many_devices(10, 2)
    # Both pollers get stuck on a hanging device in turn: d0 at once, d5 after d1..d4.
    prober = CountingProber(1.0, hanging=frozenset({"d0", "d5"}))
    monitor = Monitor(
        inventory, prober, RecordingSender(), notifier=Notifier.for_inventory(inventory)
    )

    report = await monitor.run_one_cycle(deadline=trio.current_time() + 30)

    assert prober.polled == ["d1", "d2", "d3", "d4"]
    assert (report.polled, report.late) == (4, 6)
    assert report.duration == pytest.approx(30.0)
