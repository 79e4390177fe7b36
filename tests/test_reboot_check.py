"""The optional reboot check: a device whose sysUpTime says it rebooted recently fails it."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from support.radio import RadioAgent, write_inventory
from support.waiting import wait_until

from netwatch.alerts import Level
from netwatch.checks import REBOOT, CheckVerdict, judge_sample
from netwatch.daemon import run_daemon
from netwatch.engine import DeviceState
from netwatch.inventory import load_inventory, parse_inventory
from netwatch.samples import PingResult, Sample, SnmpReading

DEVICE = """
[defaults.snmp]
community = "public"
[[devices]]
id = "cpe"
address = "192.0.2.5"
profile = "airos"
{setting}
"""


def judge(
    uptime_ticks: int | None, setting: str = 'reboot_alert = "15m"'
) -> dict[str, CheckVerdict]:
    device = parse_inventory(DEVICE.format(setting=setting), Path("t.toml")).devices[0]
    sample = Sample(
        "cpe",
        1000.0,
        ping=PingResult("192.0.2.5", 3, 3, (1.0, 1.0, 1.0)),
        snmp=SnmpReading(uptime_ticks=uptime_ticks),
    )
    return dict(judge_sample(device, sample, {}))


@pytest.mark.parametrize(
    ("ticks", "level", "detail"),
    [
        (18_000, Level.WARNING, "rebooted 3m ago"),
        (89_999, Level.WARNING, "rebooted 15m ago"),  # 899.99 s: still inside 15 minutes
        (90_000, Level.OK, "up 15m"),
        (8_640_000, Level.OK, "up 24h"),
    ],
)
def test_uptime_against_the_window(ticks: int, level: Level, detail: str) -> None:
    verdict = judge(ticks)[REBOOT]
    assert (verdict.level, verdict.known, verdict.detail) == (level, True, detail)


def test_no_uptime_is_unknown_and_the_check_is_off_by_default() -> None:
    assert judge(None)[REBOOT].known is False
    assert REBOOT not in judge(18_000, setting="")


async def test_a_freshly_started_agent_reads_as_rebooted(
    radio_agent: RadioAgent, tmp_path: Path
) -> None:
    path = write_inventory(tmp_path / "devices.toml", port=radio_agent.port, events_url=None)
    path.write_text(path.read_text().replace("[defaults]\n", '[defaults]\nreboot_alert = "1h"\n'))
    async with trio.open_nursery() as nursery:
        monitor = await nursery.start(run_daemon, load_inventory(path))
        await wait_until(
            lambda: REBOOT in monitor.states.get("tower-7/radio-2", DeviceState()).checks,
            "a poll",
        )
        nursery.cancel_scope.cancel()
    verdict = monitor.states["tower-7/radio-2"].checks[REBOOT]
    assert verdict.level is Level.WARNING
    assert verdict.detail.startswith("rebooted ") and verdict.detail.endswith("s ago")
