"""End to end on real parts: the daemon polls a real net-snmp agent and pings 127.0.0.1, holds a
failing device through its hold-down, and pages a real HTTP server (the PagerDuty stand-in)."""

from __future__ import annotations

import signal
from datetime import datetime
from pathlib import Path

import pytest
import trio
from support.daemon_process import start_daemon, stop, wait_for_log
from support.pagerduty import PagerDutyStandIn
from support.radio import COMMUNITY, ROUTING_KEY, RadioAgent, write_inventory
from support.waiting import wait_until

from netwatch.daemon import run_daemon
from netwatch.events import dedup_key_for
from netwatch.inventory import load_inventory


async def test_trigger_after_hold_down_folds_both_checks_then_resolves(
    radio_agent: RadioAgent,
    pagerduty_standin: PagerDutyStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NW_E2E_ROUTING_KEY", ROUTING_KEY)
    inventory = load_inventory(
        write_inventory(
            tmp_path / "devices.toml", port=radio_agent.port, events_url=pagerduty_standin.url
        )
    )
    key = dedup_key_for("tower-7/radio-2")

    def triggers() -> list[str]:
        return [
            e["payload"]["summary"]
            for e in list(pagerduty_standin.events)
            if e["event_action"] == "trigger"
        ]

    async with trio.open_nursery() as nursery:
        monitor = await nursery.start(run_daemon, inventory)
        await wait_until(lambda: monitor.cycles >= 2, "two healthy cycles")
        assert pagerduty_standin.events == []

        radio_agent.set(cpu_percent=95, temperature=45)
        await wait_until(lambda: len(triggers()) >= 1, "the first trigger")
        # Hold-down 2 s at a 1 s interval: paged on the third failing poll, not before.
        first_event = pagerduty_standin.events[0]
        failing_since = datetime.fromisoformat(
            first_event["payload"]["custom_details"]["failing_since"]
        )
        paged_at = datetime.fromisoformat(first_event["payload"]["timestamp"])
        # (A short hold gets a tenth of itself as scheduling slack.)
        assert (paged_at - failing_since).total_seconds() >= 1.8
        first = triggers()[0]
        assert "cpu 95" in first and "temperature" not in first

        radio_agent.set(cpu_percent=95, temperature=85)
        await wait_until(lambda: any("temperature 85" in s for s in triggers()), "both checks")
        both = next(s for s in triggers() if "temperature 85" in s)
        assert "cpu 95" in both
        assert both.index("cpu") < both.index("temperature")  # both critical: in check order

        radio_agent.set(cpu_percent=10, temperature=40)
        await wait_until(lambda: "resolve" in pagerduty_standin.actions_for(key), "the resolve")
        nursery.cancel_scope.cancel()

    actions = pagerduty_standin.actions_for(key)
    assert actions[-1] == "resolve" and set(actions[:-1]) == {"trigger"}
    assert len(pagerduty_standin.incidents) == 1
    assert pagerduty_standin.incidents[0].status == "resolved"
    assert {e["dedup_key"] for e in pagerduty_standin.events} == {key}
    assert all(e["routing_key"] == ROUTING_KEY for e in pagerduty_standin.events)


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_daemon_cleanly(
    radio_agent: RadioAgent, tmp_path: Path, stop_signal: signal.Signals
) -> None:
    inventory = write_inventory(tmp_path / "devices.toml", port=radio_agent.port, events_url=None)
    radio_agent.set(cpu_percent=97, temperature=45)
    process = start_daemon(inventory)
    try:
        wait_for_log(process, "cycle 2:")
        out, err, took = stop(process, stop_signal)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert f"received {stop_signal.name}, stopping" in err
    assert took < 2.0, f"took {took:.2f} s to stop"  # the promise to operators
    assert COMMUNITY not in out + err
