"""The real `netwatch run` when the things around it hang: it must still stop on SIGTERM
within the 2 s promised to operators (systemd's stop, a container runtime's)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.snmp_agents import free_udp_port

INVENTORY = """\
[netwatch]
interval = "1s"
state_db = "state.db"

[pagerduty]
routing_key = "env:NETWATCH_TEST_ROUTING_KEY"
events_url = "http://127.0.0.1:{closed_port}/v2/enqueue"   # refused: retried meanwhile

[http]
enabled = false

[email]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
sender = "netwatch@isp.example"
to = ["noc@isp.example"]
always = true

[defaults]
profile = "linux"
hold_down = "1s"
recovery = "1s"

[defaults.snmp]
community = "public"
port = {snmp_port}   # nothing answers: the snmp check fails and the device pages
timeout = "500ms"
retries = 0

[[devices]]
id = "radio-1"
address = "127.0.0.1"
"""


class SilentSmtpServer:
    """Accepts connections and never says a word (a tarpit, or a firewall that lets the SYN
    through and nothing else): smtplib waits for the greeting until its own timeout."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.accepted = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            while True:
                connection, _ = self._listener.accept()
                self._held.append(connection)
                self.accepted.set()
        except OSError:
            return  # closed

    def close(self) -> None:
        self._listener.close()
        for connection in self._held:
            connection.close()


def closed_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def silent_smtp() -> Iterator[SilentSmtpServer]:
    server = SilentSmtpServer()
    yield server
    server.close()


def test_sigterm_while_the_mail_server_hangs_stops_within_two_seconds(
    tmp_path: Path, silent_smtp: SilentSmtpServer
) -> None:
    inventory = tmp_path / "devices.toml"
    inventory.write_text(
        INVENTORY.format(
            smtp_port=silent_smtp.port, snmp_port=free_udp_port(), closed_port=closed_tcp_port()
        )
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "netwatch.cli", "run", "--config", str(inventory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "NETWATCH_TEST_ROUTING_KEY": "Rk0123456789abcdef0123456789abcd",
        },
    )
    try:
        assert silent_smtp.accepted.wait(30), "netwatch never tried to mail the page"
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        _, err = process.communicate(timeout=30)
        took = time.monotonic() - stopped_at
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert took < 2.0, f"took {took:.2f} s to stop"  # smtplib's own timeout is 20 s


def test_a_state_database_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    # As its own user netwatch often cannot write where the inventory lives (/etc/netwatch).
    # /proc refuses new files even to root, so this holds whoever runs the tests.
    inventory = tmp_path / "devices.toml"
    inventory.write_text(
        INVENTORY.format(
            smtp_port=closed_tcp_port(), snmp_port=free_udp_port(), closed_port=closed_tcp_port()
        ).replace('state_db = "state.db"', 'state_db = "/proc/netwatch-state.db"')
    )
    result = subprocess.run(
        [sys.executable, "-m", "netwatch.cli", "run", "--config", str(inventory)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NETWATCH_TEST_ROUTING_KEY": "Rk0123456789abcdef0123456789abcd"},
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "cannot open the state database /proc/netwatch-state.db" in result.stderr
    assert "state_db" in result.stderr  # says which setting to change
