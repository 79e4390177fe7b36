"""A radio on loopback for end-to-end tests: Debian's snmpd serving the airOS CPU and
temperature objects through a `pass` script whose values the test changes while the daemon runs,
and an inventory that points netwatch at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .paths import REPO
from .snmp_agents import running_snmpd

CPU_OID = "1.3.6.1.4.1.41112.1.4.8.3.0"  # ubntHostCpuLoad, hundredths of a percent
TEMPERATURE_OID = "1.3.6.1.4.1.41112.1.4.8.4.0"  # ubntHostTemperature, °C
COMMUNITY = "e2e-Link$ysRO"  # survives as exact bytes: no shell, no expansion
ROUTING_KEY = "R0123456789abcdef0123456789abcde"
PASS_SCRIPT = REPO / "tests" / "support" / "pass_values.sh"


@dataclass
class RadioAgent:
    port: int
    values: Path

    def set(self, *, cpu_percent: float, temperature: int) -> None:
        (self.values / CPU_OID).write_text(f"integer {round(cpu_percent * 100)}\n")
        (self.values / TEMPERATURE_OID).write_text(f"integer {temperature}\n")


@pytest.fixture
def radio_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RadioAgent]:
    values = tmp_path / "values"
    values.mkdir()
    monkeypatch.setenv("NETWATCH_PASS_DIR", str(values))
    config = (
        f"rocommunity {COMMUNITY} 127.0.0.1\npass .1.3.6.1.4.1.41112.1.4.8 /bin/sh {PASS_SCRIPT}\n"
    )
    agent_dir = tmp_path / "snmpd"
    agent_dir.mkdir()
    with running_snmpd(agent_dir, config, COMMUNITY.encode()) as port:
        agent = RadioAgent(port, values)
        agent.set(cpu_percent=20, temperature=45)
        yield agent


def write_inventory(
    path: Path, *, port: int, events_url: str | None, extra_devices: str = ""
) -> Path:
    pagerduty = (
        f'routing_key = "env:NW_E2E_ROUTING_KEY"\nevents_url = "{events_url}"\n'
        if events_url
        else ""
    )
    path.write_text(
        f"""
[netwatch]
interval = "1s"
state_db = "netwatch-state.db"
[http]
port = 0
[pagerduty]
{pagerduty}resend_interval = "1s"
[defaults]
hold_down = "2s"
recovery = "2s"
[defaults.ping]
timeout = "500ms"
interval = "50ms"
[[devices]]
id = "tower-7/radio-2"
name = "Tower 7 radio 2"
address = "127.0.0.1"
site = "tower-7"
profile = "airos"
[devices.snmp]
port = {port}
community = "{COMMUNITY}"
timeout = "500ms"
[devices.thresholds]
cpu = {{ warning = 80, critical = 90, clear = 5 }}
temperature = {{ warning = 70, critical = 80, clear = 3 }}
{extra_devices}"""
    )
    return path
