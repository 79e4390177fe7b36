"""kill -9 and restart of the real daemon (`netwatch run` as a subprocess) with its SQLite
store: ICMP to 127.0.0.1, SNMP to a loopback port with no agent (a failing `snmp` check), then
to snmpsim; the dry-run printer's events on stdout are the evidence."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from support.daemon_process import WAIT_LIMIT, FileLoggedDaemon, killed_on_exit
from support.snmp_agents import SnmpsimAgent, free_udp_port

from netwatch.delivery import DRY_RUN_HEADER
from netwatch.events import dedup_key_for

INVENTORY = """
[netwatch]
interval = "1s"
state_db = "state.db"
[http]
enabled = false
[pagerduty]
resend_interval = "1h"
[defaults]
hold_down = "1s"
recovery = "1s"
[[devices]]
id = "radio"
address = "127.0.0.1"
profile = "edgeos"
snmp = {{ community = "edgeos", port = {port}, timeout = "300ms", retries = 0 }}
# whatever the recording says, only the snmp check itself may fail
[devices.thresholds]
cpu = {{ warning = 1000, critical = 1000 }}
temperature = {{ warning = 1000, critical = 1000 }}
[[devices]]
id = "host"
address = "127.0.0.1"
profile = "ping-only"
"""


class Daemon(FileLoggedDaemon):
    def events(self) -> list[dict[str, Any]]:
        text = self.out_path.read_text()
        chunks = [c.strip() for c in text.split(DRY_RUN_HEADER) if c.strip()]
        events = []
        for chunk in chunks:
            with contextlib.suppress(json.JSONDecodeError):  # the last may be half written
                events.append(json.loads(chunk))
        return events

    def cycles(self) -> int:
        return sum(" devices polled" in line for line in self.err_path.read_text().splitlines())


def daemon(config: Path) -> AbstractContextManager[Daemon]:
    return killed_on_exit(Daemon(config))


def history(config: Path, device_id: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "netwatch.cli", "history", device_id, "--json", "--config", config],
        capture_output=True,
        text=True,
        check=True,
    )
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def actions(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["event_action"], e["dedup_key"]) for e in events]


RADIO = dedup_key_for("radio")


def test_kill_9_and_restart_continue_where_the_engine_was(
    tmp_path: Path, snmpsim_agent: SnmpsimAgent
) -> None:
    config = tmp_path / "devices.toml"
    config.write_text(INVENTORY.format(port=free_udp_port()))  # nothing listens there

    with daemon(config) as first:
        first.wait_for("trigger", lambda: any(e["dedup_key"] == RADIO for e in first.events()))
        first.kill_9()
    assert actions(first.events()) == [("trigger", RADIO)]
    trigger = first.events()[0]
    assert trigger["payload"]["severity"] == "warning"
    assert trigger["payload"]["class"] == "snmp"

    # Restarted: the incident is still open, no new hold-down, no second incident, and
    # the unchanged trigger is not repeated (the re-send interval is an hour).
    with daemon(config) as second:
        second.wait_for("4 cycles", lambda: second.cycles() >= 4)
        second.kill_9()
    assert second.events() == []
    (incident,) = history(config, "radio")
    assert incident["resolved_at"] is None
    assert [e["kind"] for e in incident["entries"]] == ["opened"]

    # While netwatch is down the radio's agent comes back (the device now points at a
    # running snmpsim): the next run resolves the incident it never saw open.
    config.write_text(INVENTORY.format(port=snmpsim_agent.port))
    with daemon(config) as third:
        third.wait_for("resolve", lambda: bool(third.events()))
        resolved_by = third.cycles()
        third.wait_for("2 more cycles", lambda: third.cycles() >= resolved_by + 2)
        third.process.send_signal(signal.SIGTERM)
        assert third.process.wait(timeout=WAIT_LIMIT) == 0
    assert actions(third.events()) == [("resolve", RADIO)]
    (incident,) = history(config, "radio")
    assert incident["resolved_at"] is not None
    assert [e["kind"] for e in incident["entries"]] == ["opened", "resolved"]
    assert history(config, "host") == []


def test_a_second_daemon_on_the_same_state_database_refuses_to_start(tmp_path: Path) -> None:
    # Both would load the same outbox and mail queue and page everything twice.
    config = tmp_path / "devices.toml"
    config.write_text(INVENTORY.format(port=free_udp_port()))
    with daemon(config) as first:
        first.wait_for("a first cycle", lambda: first.cycles() >= 1)
        second = subprocess.run(
            [sys.executable, "-m", "netwatch.cli", "run", "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=WAIT_LIMIT,
        )
        assert second.returncode == 1
        assert f"{tmp_path / 'state.db'} is in use by another netwatch" in second.stderr
        assert first.process.poll() is None
    rerun = Daemon(config)  # the lock goes with the process, even after kill -9
    with killed_on_exit(rerun):
        rerun.wait_for("a cycle after the first daemon's kill -9", lambda: rerun.cycles() >= 1)
