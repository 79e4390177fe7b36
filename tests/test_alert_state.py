"""The engine's memory across restarts: the real Monitor, engine, notifier and SQLite store
(a file in tmp_path), scripted samples on the autojump clock; a "restart" is a new Monitor,
notifier and connection on the same file, as after kill -9 (nothing is closed first)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import trio
from test_engine import ALL, Run, down, site_samples, tower_site, up
from test_monitor_cycle import RecordingSender

from netwatch.alerts import Level
from netwatch.checks import CheckVerdict
from netwatch.cli import main
from netwatch.engine import DeviceState, TransitionKind
from netwatch.incidents import EntryKind
from netwatch.inventory import DeviceConfig, Inventory, parse_inventory
from netwatch.monitor import CycleReport, Monitor
from netwatch.notifier import Notifier
from netwatch.samples import Sample
from netwatch.store import open_store
from netwatch.store.alert_state import (
    AlertStateStore,
    _verdict_from_json,
    _verdict_to_json,
    state_from_json,
    state_to_json,
)

INVENTORY = """
[netwatch]
interval = "60s"
state_db = "state.db"
[pagerduty]
resend_interval = "5m"
[defaults]
profile = "ping-only"
hold_down = "2m"
recovery = "2m"
[[devices]]
id = "r1"
address = "192.0.2.1"
[[devices]]
id = "r2"
address = "192.0.2.2"
"""

Script = Callable[[str, float], Sample]


class FunctionProber:
    """A device's sample as a function of (device id, seconds since the test began)."""

    def __init__(self, script: Script, start: float) -> None:
        self.script = script
        self.start = start

    async def poll(self, device: DeviceConfig) -> Sample:
        now = trio.current_time()
        await trio.sleep(0.3)
        return self.script(device.id, now - self.start)


class Session:
    """One daemon lifetime: Monitor + notifier + a fresh connection to the store file."""

    def __init__(self, inventory: Inventory, script: Script, start: float) -> None:
        self.sender = RecordingSender()
        self.store = open_store(inventory.source.parent / inventory.settings.state_db)
        self.alert_store = AlertStateStore(self.store)
        self.reports: list[CycleReport] = []
        notifier = Notifier(
            routing_key="R" * 32, resend_interval=inventory.pagerduty.resend_interval
        )
        self.monitor = Monitor(
            inventory,
            FunctionProber(script, start),
            self.sender,
            notifier=notifier,
            wall_clock=lambda: trio.current_time() - start,
            alert_store=self.alert_store,
        )
        self.monitor.on_cycle(self.reports.append)
        self.start = start

    async def run_for(self, seconds: float) -> None:
        with trio.move_on_after(seconds):
            async with trio.open_nursery() as nursery:
                await nursery.start(self.monitor.run)

    def sent(self) -> list[tuple[int, str, str]]:
        return [
            (round(at - self.start), e["event_action"], e["dedup_key"])
            for at, e in self.sender.sent
        ]

    def transitions(self, kind: TransitionKind) -> list[tuple[str, int]]:
        return [
            (t.device_id, round(t.at))
            for r in self.reports
            for t in r.outcome.transitions
            if t.kind is kind
        ]


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    path = tmp_path / "devices.toml"
    path.write_text(INVENTORY)
    return parse_inventory(INVENTORY, path)


def r1_down_until(until: float) -> Script:
    def script(device_id: str, t: float) -> Sample:
        if device_id == "r1" and t < until:
            return down(device_id, t)
        return up(device_id, t)

    return script


async def test_alerting_device_stays_alerting_after_a_restart_without_a_second_incident(
    autojump_clock: trio.testing.MockClock, inventory: Inventory
) -> None:
    start = trio.current_time()
    first = Session(inventory, r1_down_until(10_000), start)
    await first.run_for(200)  # polls at 0, 60, 120, 180: triggered at 120
    assert first.transitions(TransitionKind.TRIGGERED) == [("r1", 120)]
    # kill -9: the connection is simply abandoned. Back 30 s later (next poll at 230 s).
    await trio.sleep(30)
    second = Session(inventory, r1_down_until(10_000), start)
    assert second.monitor.states["r1"].incident_open
    await second.run_for(400)  # polls at 230 ... 590
    assert second.transitions(TransitionKind.TRIGGERED) == []
    # The notifier remembers the trigger sent at 120: the next re-send is due at 420 (5 min),
    # under the same dedup key; nothing was sent at the restart itself.
    assert second.sent() == [(470, "trigger", "netwatch/r1")]
    (incident,) = second.alert_store.incidents("r1")
    assert [e.kind for e in incident.entries] == [EntryKind.OPENED]
    assert incident.resolved_at is None


async def test_device_that_recovered_while_netwatch_was_down_gets_its_resolve(
    autojump_clock: trio.testing.MockClock, inventory: Inventory
) -> None:
    start = trio.current_time()
    first = Session(inventory, r1_down_until(10_000), start)
    await first.run_for(200)
    await trio.sleep(600)  # away ten minutes; r1 came back meanwhile
    second = Session(inventory, r1_down_until(300), start)
    await second.run_for(300)  # polls at 800, 860, 920, ...
    # The recovery hold starts at the first poll seen OK (800) and ends two minutes later.
    assert second.transitions(TransitionKind.RESOLVED) == [("r1", 920)]
    assert second.sent() == [(920, "resolve", "netwatch/r1")]
    (incident,) = second.alert_store.incidents("r1")
    assert [(e.kind, round(e.at)) for e in incident.entries] == [
        (EntryKind.OPENED, 120),
        (EntryKind.RESOLVED, 920),
    ]
    assert incident.resolved_at == pytest.approx(920, abs=0.5)


async def test_nothing_fires_because_the_first_cycle_after_a_restart_has_no_data(
    autojump_clock: trio.testing.MockClock, inventory: Inventory
) -> None:
    start = trio.current_time()
    first = Session(inventory, r1_down_until(10_000), start)
    await first.run_for(70)  # polls at 0 and 60: r1 pending, one poll short of its hold-down
    assert first.monitor.states["r1"].failing_since == pytest.approx(0, abs=0.5)

    def silent_then_down(device_id: str, t: float) -> Sample:
        if device_id != "r1":
            return up(device_id, t)
        return Sample(device_id, t) if t < 200 else down(device_id, t)

    await trio.sleep(50)
    second = Session(inventory, silent_then_down, start)
    await second.run_for(300)  # polls at 120 (no data), 180 (no data), 240, 300, 360
    # Unknown data is no reason to page, though the saved failure is two minutes old by then.
    # The first poll with data (240) confirms the failure that began at 0: it fires then.
    assert second.transitions(TransitionKind.TRIGGERED) == [("r1", 240)]


async def test_a_long_absence_restarts_the_hold_down(
    autojump_clock: trio.testing.MockClock, inventory: Inventory
) -> None:
    start = trio.current_time()
    first = Session(inventory, r1_down_until(10_000), start)
    await first.run_for(70)  # pending since 0
    await trio.sleep(3600)
    second = Session(inventory, r1_down_until(10_000), start)
    await second.run_for(200)  # polls at 3670, 3730, 3790
    # Nobody watched for an hour: the failure counts from the first poll after the restart.
    assert second.transitions(TransitionKind.TRIGGERED) == [("r1", 3790)]


async def test_history_records_opened_summary_changes_and_resolved(
    autojump_clock: trio.testing.MockClock, inventory: Inventory, capsys: pytest.CaptureFixture[str]
) -> None:
    start = trio.current_time()

    def script(device_id: str, t: float) -> Sample:
        if device_id == "r2":
            return up(device_id, t)
        if t < 200:
            return down(device_id, t)
        if t < 400:  # one echo of three answered: loss 67 %, a warning
            sample = up(device_id, t)
            assert sample.ping is not None
            return replace(sample, ping=replace(sample.ping, received=1, rtts_ms=(1.0,)))
        return up(device_id, t)

    session = Session(inventory, script, start)
    await session.run_for(700)
    (incident,) = session.alert_store.incidents("r1")
    kinds = [(e.kind, round(e.at)) for e in incident.entries]
    assert kinds == [
        (EntryKind.OPENED, 120),
        (EntryKind.SUMMARY, 240),
        (EntryKind.RESOLVED, 540),
    ]
    assert "reachability 100.0 % loss" in incident.entries[0].summary
    assert "reachability 66.7 % loss" in incident.entries[1].summary
    assert incident.summary == incident.entries[1].summary
    assert session.alert_store.incidents("r2") == []

    assert main(["history", "r1", "--config", str(inventory.source)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "r1: 1 incident, newest first (#: netwatch's incident number)\n"
        "#1 opened 1970-01-01 00:02:00 UTC"
    )
    assert "resolved 1970-01-01 00:09:00 UTC" in out
    assert "  1970-01-01 00:04:00 UTC  summary: r1 (192.0.2.1): reachability 66.7 % loss" in out
    assert main(["history", "r2", "--config", str(inventory.source)]) == 0
    assert capsys.readouterr().out == "r2: no incidents recorded\n"


def test_history_without_a_database_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "devices.toml"
    path.write_text(INVENTORY)
    assert main(["history", "r1", "--config", str(path)]) == 1
    assert "no state database yet" in capsys.readouterr().out
    assert not (tmp_path / "state.db").exists()


def test_device_state_round_trips_through_json() -> None:
    run = Run(tower_site())
    for now in (0, 60, 120, 180):
        run.cycle(now, site_samples(now, ALL if now < 180 else ["sector-1"]))
    assert any(s.incident_open for s in run.states.values())
    for state in run.states.values():
        assert state_from_json(state_to_json(state)) == state
    assert state_from_json(state_to_json(DeviceState())) == DeviceState()


def test_every_verdict_field_survives_the_store_including_custom_units() -> None:
    verdict = CheckVerdict(
        "optical_rx", Level.WARNING, True, -27.5, -25.0, "ifOpticalRx", custom_unit="dBm"
    )
    assert _verdict_from_json(json.loads(json.dumps(_verdict_to_json(verdict)))) == verdict
    legacy = {
        "check": "cpu",
        "level": 2,
        "known": False,
        "value": 95.0,
        "threshold": 90.0,
        "detail": "",
    }
    assert _verdict_from_json(legacy) == CheckVerdict("cpu", Level.CRITICAL, False, 95.0, 90.0, "")
