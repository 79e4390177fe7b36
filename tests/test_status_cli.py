"""`netwatch status` from a running daemon's API and from the state database once it has
stopped; `--log-format json` lines from a real `netwatch run`; never a secret."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import trio
from support.web_daemon import INVENTORY, SECRETS, running_web_daemon, write_inventory

from netwatch.inventory import load_inventory
from netwatch.status_cli import render_status, run_status


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_status_from_api_then_from_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = INVENTORY.replace(
        'interval = "1s"\n', f'interval = "1s"\nstate_db = "{tmp_path}/state.db"\n'
    )
    async with running_web_daemon(tmp_path, monkeypatch, text=text) as daemon:
        await daemon.wait_cycles(1)
        inventory = load_inventory(tmp_path / "devices.toml")
        live, tty = io.StringIO(), FakeTty()
        await trio.to_thread.run_sync(lambda: run_status(inventory, daemon.url, live))
        await trio.to_thread.run_sync(lambda: run_status(inventory, daemon.url, tty))
    stopped = io.StringIO()
    run_status(inventory, "http://127.0.0.1:9", stopped)
    lines = live.getvalue().splitlines()
    assert lines[0] == f"netwatch at {daemon.url}"
    assert lines[1].split() == ["DEVICE", "SITE", "STATE", "FAILING", "SINCE", "PEOPLE", "POLLED"]
    assert [line.split()[:3] for line in lines[2:5]] == [
        ["radio-dead", "south", "alerting"],
        ["core-rtr", "north", "ok"],
        ["sector-a", "north", "ok"],
    ]
    assert "\x1b[" not in live.getvalue()
    assert "\x1b[1;31malerting" in tty.getvalue()
    offline = stopped.getvalue().splitlines()
    assert offline[0].startswith("daemon not running; state database ")
    assert offline[2].split()[:3] == ["radio-dead", "south", "alerting"]
    for secret in SECRETS.values():
        assert secret not in live.getvalue() + stopped.getvalue()


def test_people_column() -> None:
    view = {
        "id": "r1",
        "site": None,
        "phase": "alerting",
        "failing": [{"check": "cpu", "value": 95.0, "unit": "%", "level": "critical"}],
        "failing_since": 100.0,
        "last_poll_age": 5.0,
        "activity": {"action": "acknowledged", "by": "Jane Tech", "age_seconds": 240.0},
    }
    table = render_status({"generated_at": 400.0, "devices": [view]}, colour=False)
    row = table.splitlines()[1]
    assert "cpu 95% critical" in row
    assert "acknowledged by Jane Tech 4 min ago" in row
    assert row.split()[-3:] == ["5", "s", "ago"]


def json_logged_run(config: Path) -> list[str]:
    return [sys.executable, "-m", "netwatch.cli", "--log-format", "json", "run", "--config",
            str(config)]  # fmt: skip


def test_json_log_lines_from_a_real_run(tmp_path: Path) -> None:
    twin = '[[devices]]\nid = "core-rtr-twin"\naddress = "127.0.0.1"\nprofile = "ping-only"\n'
    config = write_inventory(tmp_path, extra=twin)
    env = {**os.environ, **SECRETS}
    process = subprocess.Popen(
        json_logged_run(config),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        records = []
        assert process.stderr is not None
        for line in process.stderr:
            records.append(json.loads(line))
            if any(r["message"].startswith("cycle 2:") for r in records):
                break
    finally:
        process.send_signal(signal.SIGTERM)
        rest = process.communicate(timeout=30)[1]
    records += [json.loads(line) for line in (rest or "").splitlines()]
    assert all(set(r) >= {"time", "level", "logger", "message"} for r in records)
    alerts = [r for r in records if r["message"].startswith("ALERT radio-dead")]
    assert len(alerts) == 1 and alerts[0]["level"] == "warning"
    web = [r for r in records if r["message"].startswith("web interface on http://127.0.0.1:")]
    assert len(web) == 1
    text = json.dumps(records)
    for secret in SECRETS.values():
        assert secret not in text
    # The inventory's warnings, given before the daemon starts, are records like the rest.
    warnings = [r for r in records if "same address as device 'core-rtr'" in r["message"]]
    assert [r["level"] for r in warnings] == ["warning"]


def test_json_logs_of_a_run_refused_for_a_broken_inventory(tmp_path: Path) -> None:
    config = tmp_path / "devices.toml"
    config.write_text('[[devices]]\nid = "r1"\naddress = "127.0.0.1"\nenabled = "yes"\n')
    finished = subprocess.run(
        json_logged_run(config),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2
    records = [json.loads(line) for line in finished.stderr.splitlines()]
    assert [r["level"] for r in records] == ["error", "error"]
    assert records[0]["message"].startswith(f"{config}:4: device 'r1': field 'enabled'")
    assert records[1]["message"] == f"{config}: 1 problem(s); not starting"


async def test_status_does_not_show_another_daemons_devices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_web_daemon(tmp_path, monkeypatch) as daemon:
        await daemon.wait_cycles(1)
        port = int(daemon.url.rsplit(":", 1)[1].rstrip("/"))
        ours = tmp_path / "ours" / "devices.toml"
        ours.parent.mkdir()
        ours.write_text(
            f'[http]\nport = {port}\n[[devices]]\nid = "ours-1"\naddress = "127.0.0.9"\n'
            'profile = "ping-only"\n'
        )
        out = io.StringIO()
        await trio.to_thread.run_sync(lambda: run_status(load_inventory(ours), None, out))
    first = out.getvalue().splitlines()[0]
    assert first.startswith("no state database at ")
    assert f"runs {(tmp_path / 'devices.toml').resolve()}, not {ours.resolve()}" in first
    assert "radio-dead" not in out.getvalue()
