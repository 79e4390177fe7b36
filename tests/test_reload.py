"""SIGHUP on a running daemon: a valid inventory takes effect without losing alert state, a
broken one changes nothing, a device removed while alerting is resolved."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest
import trio
from support.pagerduty import PagerDutyStandIn
from support.radio import ROUTING_KEY, RadioAgent, write_inventory
from support.waiting import wait_until

from netwatch import cli, daemon
from netwatch.daemon import run_daemon
from netwatch.events import dedup_key_for
from netwatch.inventory import load_inventory

SWITCH = """
[[devices]]
id = "tower-7/switch"
address = "127.0.0.2"
profile = "ping-only"
"""
ONE_SWITCH = '[netwatch]\ninterval = "1s"\n[http]\nenabled = false\n' + SWITCH


async def test_reload_keeps_state_rejects_broken_files_and_resolves_removed_devices(
    radio_agent: RadioAgent,
    pagerduty_standin: PagerDutyStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="netwatch")
    monkeypatch.setenv("NW_E2E_ROUTING_KEY", ROUTING_KEY)
    path = tmp_path / "devices.toml"
    write_inventory(
        path, port=radio_agent.port, events_url=pagerduty_standin.url, extra_devices=SWITCH
    )
    radio_key = dedup_key_for("tower-7/radio-2")

    def radio_summaries() -> list[str]:
        return [
            e["payload"]["summary"]
            for e in list(pagerduty_standin.events)
            if e["dedup_key"] == radio_key and e["event_action"] == "trigger"
        ]

    def reload() -> None:
        os.kill(os.getpid(), signal.SIGHUP)

    radio_agent.set(cpu_percent=96, temperature=40)
    async with trio.open_nursery() as nursery:
        monitor = await nursery.start(run_daemon, load_inventory(path))
        await wait_until(lambda: len(radio_summaries()) >= 1, "the radio's first trigger")
        running = monitor.inventory

        path.write_text(path.read_text() + '\n[[devices]]\nid = "broken"\nadress = "127.0.0.9"\n')
        reload()
        await wait_until(
            lambda: "reload of" in caplog.text and "rejected" in caplog.text, "rejection"
        )
        assert "field 'adress': unknown key" in caplog.text
        assert monitor.inventory is running
        sent = len(radio_summaries())
        await wait_until(lambda: len(radio_summaries()) >= sent + 2, "re-sends after the rejection")

        write_inventory(path, port=radio_agent.port, events_url=pagerduty_standin.url)
        path.write_text(path.read_text().replace("Tower 7 radio 2", "Tower 7 radio 2 (renamed)"))
        reload()
        await wait_until(lambda: any("(renamed)" in s for s in radio_summaries()), "the new name")
        assert [d.id for d in monitor.inventory.devices] == ["tower-7/radio-2"]
        # The alert carried over: no resolve, no second incident, no new hold-down.
        assert pagerduty_standin.actions_for(radio_key).count("resolve") == 0
        assert len(pagerduty_standin.incidents) == 1

        path.write_text(SWITCH)
        reload()
        await wait_until(lambda: "resolve" in pagerduty_standin.actions_for(radio_key), "resolve")
        nursery.cancel_scope.cancel()

    assert pagerduty_standin.incidents[0].status == "resolved"
    assert len(pagerduty_standin.incidents) == 1
    assert "RESOLVED tower-7/radio-2: no longer monitored (removed or disabled)" in caplog.text
    assert "RECOVERED tower-7/radio-2" not in caplog.text


def write_one_switch(folder: Path) -> Path:
    path = folder / "devices.toml"
    path.write_text(ONE_SWITCH)
    return path


def add_a_second_switch(path: Path) -> None:
    path.write_text(ONE_SWITCH + SWITCH.replace("switch", "switch-2").replace(".2", ".3"))


async def test_a_sighup_while_the_daemon_starts_is_carried_out_once_it_has_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="netwatch")
    path = write_one_switch(tmp_path)
    real_start_polling = daemon.start_polling

    async def start_polling_slowly(*args: Any) -> Any:
        # The operator edits the file and signals while the daemon is still starting up.
        add_a_second_switch(path)
        os.kill(os.getpid(), signal.SIGHUP)
        await trio.sleep(0.2)
        return await real_start_polling(*args)

    monkeypatch.setattr(daemon, "start_polling", start_polling_slowly)
    async with trio.open_nursery() as nursery:
        monitor = await nursery.start(run_daemon, load_inventory(path))
        await wait_until(
            lambda: (
                [d.id for d in monitor.inventory.devices] == ["tower-7/switch", "tower-7/switch-2"]
            ),
            "the reload signalled during start-up",
        )
        nursery.cancel_scope.cancel()
    assert "SIGHUP while starting" in caplog.text


def test_a_sighup_while_the_inventory_loads_neither_kills_the_daemon_nor_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="netwatch")
    path = write_one_switch(tmp_path)
    real_load = cli.load_inventory

    def load_then_get_signalled(source: Path) -> Any:
        inventory = real_load(source)
        # `systemctl reload` while a large inventory is still being read
        add_a_second_switch(path)
        os.kill(os.getpid(), signal.SIGHUP)
        return inventory

    reloaded = threading.Event()

    class OnReload(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith(f"reloaded {path}: 2 devices"):
                reloaded.set()

    def stop_once_reloaded() -> None:
        reloaded.wait(timeout=30)
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(cli, "load_inventory", load_then_get_signalled)
    watcher = OnReload()
    logging.getLogger("netwatch").addHandler(watcher)
    default_hangup = signal.getsignal(signal.SIGHUP)
    stopper = threading.Thread(target=stop_once_reloaded)
    stopper.start()
    try:
        assert cli.main(["run", "--config", str(path)]) == 0
    finally:
        stopper.join()
        signal.signal(signal.SIGHUP, default_hangup)
        logging.getLogger("netwatch").removeHandler(watcher)
    assert reloaded.is_set()
