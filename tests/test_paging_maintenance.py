"""A maintenance window meeting an open incident, through the real engine, notifier and Monitor
on trio's autojump clock (wall clock = trio clock, so windows are placed in epoch terms):
acknowledged once as the window starts, quiet inside it, re-sent again after it, resolved at
once if the device recovers inside it. Then the same acknowledge end to end: the real daemon
against the PagerDuty stand-in."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import trio
from support.pagerduty import PagerDutyStandIn
from support.radio import ROUTING_KEY, RadioAgent, write_inventory
from support.waiting import wait_until
from test_monitor_cycle import RecordingSender, ScriptedProber

from netwatch.daemon import run_daemon
from netwatch.events import dedup_key_for
from netwatch.inventory import Inventory, load_inventory, parse_inventory
from netwatch.monitor import Monitor
from netwatch.notifier import MAINTENANCE_NOTE, Notifier

DEFAULT_KEY = "Dm0123456789abcdef0123456789abcd"
NORTH_KEY = "Nm0123456789abcdef0123456789abcd"
DEVICE = "tower-1"

# Polls at 0, 60, 120, ... s; the window covers the polls at 300, 360, 420 and 480 s.
WINDOW_START = 250.0
WINDOW_END = 490.0

INVENTORY = """
[netwatch]
interval = "60s"
[pagerduty]
routing_key = "env:NW_MT_DEFAULT"
resend_interval = "60s"
[paging]
{paging}
[[paging.routes]]
sites = ["north"]
routing_key = "env:NW_MT_NORTH"
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
[[devices.maintenance]]
{window}
"""


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NW_MT_DEFAULT", DEFAULT_KEY)
    monkeypatch.setenv("NW_MT_NORTH", NORTH_KEY)


def one_off_window(start: float) -> str:
    def utc(offset: float) -> str:
        return datetime.fromtimestamp(start + offset, UTC).isoformat()

    return f"start = {utc(WINDOW_START)}\nend = {utc(WINDOW_END)}"


def weekly_window(start: float) -> str:
    """The same four minutes as a weekly window on Berlin's calendar."""
    local = datetime.fromtimestamp(start + WINDOW_START, ZoneInfo("Europe/Berlin"))
    day = local.strftime("%a").lower()
    return (
        f'time_zone = "Europe/Berlin"\ndays = ["{day}"]\nat = {local.time().isoformat()}\n'
        f'duration = "{WINDOW_END - WINDOW_START:g}s"'
    )


def load(window: str, *, ack_on_maintenance: bool | None = None) -> Inventory:
    paging = "" if ack_on_maintenance is None else f"ack_on_maintenance = {ack_on_maintenance!s}"
    text = INVENTORY.format(paging=paging.lower(), window=window)
    return parse_inventory(text, Path("devices.toml"))


async def run_for(seconds: float, inventory: Inventory, prober: ScriptedProber) -> RecordingSender:
    sender = RecordingSender()
    monitor = Monitor(
        inventory,
        prober,
        sender,
        notifier=Notifier.for_inventory(inventory),
        wall_clock=trio.current_time,
    )
    with trio.move_on_after(seconds):
        async with trio.open_nursery() as nursery:
            await nursery.start(monitor.run)
    return sender


def timeline(sender: RecordingSender, start: float) -> list[tuple[int, str]]:
    return [(round(at - start), event["event_action"]) for at, event in sender.sent]


def summaries(sender: RecordingSender, start: float) -> dict[int, str]:
    return {
        round(at - start): event["payload"]["summary"]
        for at, event in sender.sent
        if event["event_action"] == "trigger"
    }


def failing_cpu(start: float, until: float = float("inf")) -> Callable[[float], float]:
    return lambda now: 95.0 if now - start < until else 20.0


def hot_from(start: float, offset: float) -> Callable[[float], float]:
    """A second failing check that starts inside the window."""
    return lambda now: 85.0 if now - start >= offset else 45.0


@pytest.mark.parametrize("window", [one_off_window, weekly_window], ids=["one-off", "weekly"])
async def test_window_acknowledges_once_stays_quiet_then_re_sends_resume(
    autojump_clock: trio.testing.MockClock, window: Callable[[float], str]
) -> None:
    start = trio.current_time()
    prober = ScriptedProber(failing_cpu(start), hot_from(start, 330))
    sender = await run_for(610, load(window(start)), prober)

    # Trigger after the 2-minute hold-down, re-sent every minute; at the first poll inside the
    # window one acknowledge and nothing else: not the temperature that joins at 360 s, not a
    # re-send, not a resolve. Re-sends resume at the first poll after the window, with both.
    assert timeline(sender, start) == [
        (120, "trigger"),
        (180, "trigger"),
        (240, "trigger"),
        (300, "acknowledge"),
        (540, "trigger"),
        (600, "trigger"),
    ]
    events = [event for _, event in sender.sent]
    assert {e["dedup_key"] for e in events} == {dedup_key_for(DEVICE)}
    # The acknowledge goes under the trigger's routing key (the site's rule, not the default):
    # PagerDuty applies a follow-up only under the key its trigger came with.
    assert {e["routing_key"] for e in events} == {NORTH_KEY}
    (ack,) = [e for e in events if e["event_action"] == "acknowledge"]
    assert ack["payload"]["summary"] == f"acknowledged from netwatch: {MAINTENANCE_NOTE}"
    sent = summaries(sender, start)
    assert "temperature" not in sent[240]
    assert "cpu 95" in sent[540] and "temperature 85" in sent[540]


async def test_ack_on_maintenance_false_sends_no_acknowledge(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    prober = ScriptedProber(failing_cpu(start), hot_from(start, 330))
    inventory = load(one_off_window(start), ack_on_maintenance=False)
    assert not inventory.paging.ack_on_maintenance
    sender = await run_for(610, inventory, prober)

    assert timeline(sender, start) == [
        (120, "trigger"),
        (180, "trigger"),
        (240, "trigger"),
        (540, "trigger"),
        (600, "trigger"),
    ]


async def test_ack_on_maintenance_is_on_by_default(autojump_clock: trio.testing.MockClock) -> None:
    start = trio.current_time()
    inventory = load(one_off_window(start))
    assert inventory.paging.ack_on_maintenance
    sender = await run_for(310, inventory, ScriptedProber(failing_cpu(start), hot_from(start, 1e9)))
    assert timeline(sender, start)[-1] == (300, "acknowledge")


async def test_recovery_inside_the_window_resolves_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()
    # Healthy from the poll at 360 s, well inside the window: no 2-minute recovery hold.
    prober = ScriptedProber(failing_cpu(start, until=330), hot_from(start, 1e9))
    sender = await run_for(730, load(one_off_window(start)), prober)

    assert timeline(sender, start) == [
        (120, "trigger"),
        (180, "trigger"),
        (240, "trigger"),
        (300, "acknowledge"),
        (360, "resolve"),
    ]
    assert {e["routing_key"] for _, e in sender.sent} == {NORTH_KEY}


async def test_failing_again_inside_the_window_after_a_resolve_pages_after_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    start = trio.current_time()

    def cpu(now: float) -> float:
        return 20.0 if 330 <= now - start < 390 else 95.0

    # Resolved at 360 s; failing again from 420 s, inside the window: no incident opens until
    # the first poll after the window, which is past the hold-down, so it pages then.
    sender = await run_for(
        610, load(one_off_window(start)), ScriptedProber(cpu, hot_from(start, 1e9))
    )
    assert timeline(sender, start) == [
        (120, "trigger"),
        (180, "trigger"),
        (240, "trigger"),
        (300, "acknowledge"),
        (360, "resolve"),
        (540, "trigger"),
        (600, "trigger"),
    ]


async def test_daemon_acknowledges_the_standin_incident_when_a_window_starts(
    radio_agent: RadioAgent,
    pagerduty_standin: PagerDutyStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="netwatch")
    monkeypatch.setenv("NW_E2E_ROUTING_KEY", ROUTING_KEY)
    path = write_inventory(
        tmp_path / "devices.toml", port=radio_agent.port, events_url=pagerduty_standin.url
    )
    key = dedup_key_for("tower-7/radio-2")
    radio_agent.set(cpu_percent=95, temperature=45)

    async with trio.open_nursery() as nursery:
        monitor = await nursery.start(run_daemon, load_inventory(path))
        await wait_until(lambda: key in pagerduty_standin.open_incidents(), "the first trigger")
        assert pagerduty_standin.open_incidents()[key].status == "triggered"

        # The operator declares a window that is running now (the radio's device table is the
        # last one in the file) and reloads.
        now = time.time()
        window = (
            "[[devices.maintenance]]\n"
            f"start = {datetime.fromtimestamp(now - 60, UTC).isoformat()}\n"
            f"end = {datetime.fromtimestamp(now + 3600, UTC).isoformat()}\n"
        )
        path.write_text(path.read_text() + window)
        os.kill(os.getpid(), signal.SIGHUP)
        await wait_until(
            lambda: pagerduty_standin.open_incidents()[key].status == "acknowledged",
            "the acknowledge",
        )
        acked_at = monitor.cycles
        # Inside the window: nothing more for this incident, however many cycles go by.
        await wait_until(lambda: monitor.cycles >= acked_at + 3, "three more cycles")
        radio_agent.set(cpu_percent=95, temperature=85)  # a second check fails in the window
        await wait_until(lambda: monitor.cycles >= acked_at + 6, "three cycles after that")
        nursery.cancel_scope.cancel()

    actions = pagerduty_standin.actions_for(key)
    assert actions[-1] == "acknowledge" and actions.count("acknowledge") == 1
    assert set(actions[:-1]) == {"trigger"}
    (incident,) = pagerduty_standin.incidents
    assert incident.status == "acknowledged"
    assert [e["event_action"] for e in incident.log][-1] == "acknowledge"
    assert all(e["routing_key"] == ROUTING_KEY for e in pagerduty_standin.events)
    assert ROUTING_KEY not in caplog.text
