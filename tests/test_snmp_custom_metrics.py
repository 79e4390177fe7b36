"""Custom checks from the inventory: read from real recordings (snmpsim), judged by the engine.

A device family netwatch ships no profile for still gets CPU, temperature and any other
metric alerts: the inventory names the object, its scale and signedness, how rows combine,
the thresholds and a label.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.snmp_agents import SnmpsimAgent

from netwatch.alerts import Level
from netwatch.checks import judge_sample
from netwatch.inventory import DeviceConfig, InventoryError, parse_inventory
from netwatch.samples import PingResult, Sample
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.profiles import load_profile, read_profile, with_custom_metrics

INVENTORY = """
[groups.cambium.metrics.cpu]
object = "CAMBIUM-PMP80211-MIB::sysCPUUsage"  # a gauge in tenths, sent as Counter32
scale = 0.1
label = "CPU load"

[groups.cambium.metrics.temperature]
object = "1.3.6.1.4.1.161.19.3.3.1.35.0"        # boxTemperatureC, numeric, no MIB name needed
signed = true
warning = -10
critical = 0
label = "Box"

[groups.unifi.metrics.load-1min]
object = "FROGFOOT-RESOURCES-MIB::loadValue"
combine = "first"
scale = 0.01
unit = "load"
warning = 0.2
critical = 1.0

[groups.unifi.metrics.load-worst]
object = "FROGFOOT-RESOURCES-MIB::loadValue"
combine = "max"
scale = 0.01

[[devices]]
id = "epmp"
address = "127.0.0.1"
group = "cambium"
snmp = { community = "epmp" }
thresholds.cpu = { warning = 40, critical = 90 }

[[devices]]
id = "pmp"
address = "127.0.0.1"
group = "cambium"
snmp = { community = "pmp_450i" }

[[devices]]
id = "unifi"
address = "127.0.0.1"
group = "unifi"
snmp = { community = "unifi" }
metrics.load-1min.critical = 0.5
"""


def _devices(agent: SnmpsimAgent) -> dict[str, DeviceConfig]:
    text = INVENTORY.replace('address = "127.0.0.1"', f'address = "{agent.address}"')
    text = text.replace("snmp = { community", f"snmp = {{ port = {agent.port}, community")
    return parse_inventory(text, Path("devices.toml")).by_id()


async def _judge(snmp_client: SnmpClient, agent: SnmpsimAgent, device: DeviceConfig) -> dict:  # type: ignore[type-arg]
    profile = with_custom_metrics(load_profile(device.profile), device.metrics)
    reading = await read_profile(
        snmp_client, agent.target(device.snmp.community.get_secret_value().decode()), profile
    )  # type: ignore[union-attr]
    sample = Sample(
        device.id, 0.0, ping=PingResult(device.address, 3, 3, (1.0, 1.0, 1.0)), snmp=reading
    )
    return judge_sample(device, sample, {})


async def test_a_family_without_a_profile_gets_cpu_and_temperature_alerts(
    snmp_client: SnmpClient, snmpsim_agent: SnmpsimAgent
) -> None:
    devices = _devices(snmpsim_agent)
    assert devices["epmp"].profile == "host-resources"

    epmp = await _judge(snmp_client, snmpsim_agent, devices["epmp"])
    pmp = await _judge(snmp_client, snmpsim_agent, devices["pmp"])

    cpu = epmp["cpu"]
    assert (cpu.known, cpu.value, cpu.level, cpu.threshold, cpu.unit) == (
        True,
        pytest.approx(42.0),
        Level.WARNING,
        40.0,
        "%",
    )
    assert cpu.detail == "CPU load: CAMBIUM-PMP80211-MIB::sysCPUUsage.0"
    temperature = pmp["temperature"]
    # -2 °C is at or above the custom warning (-10) and below the custom critical (0).
    assert (temperature.value, temperature.level, temperature.unit) == (-2.0, Level.WARNING, "°C")
    assert temperature.detail == "Box: 1.3.6.1.4.1.161.19.3.3.1.35.0"


async def test_custom_metric_tables_combine_rows_and_layers_merge_thresholds(
    snmp_client: SnmpClient, snmpsim_agent: SnmpsimAgent
) -> None:
    unifi = _devices(snmpsim_agent)["unifi"]

    verdicts = await _judge(snmp_client, snmpsim_agent, unifi)

    first, worst = verdicts["load-1min"], verdicts["load-worst"]
    # loadValue rows are 22, 24, 30 (×0.01); the device overrides the group's critical.
    assert (first.value, first.level, first.threshold, first.unit) == (
        pytest.approx(0.22),
        Level.WARNING,
        0.2,
        "load",
    )
    assert [m.critical for m in unifi.metrics] == [0.5, None]
    assert (worst.value, worst.level) == (pytest.approx(0.30), Level.OK)
    assert "'15 Minute Average'" not in worst.detail  # no label column given: rows by index
    assert worst.detail == "highest of 3 rows of FROGFOOT-RESOURCES-MIB::loadValue: 'row 3'"


BASE = '[[devices]]\nid = "r1"\naddress = "192.0.2.1"\nsnmp = { community = "c" }\n'


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        (
            'metrics.fan = { object = "MIKROTIK-MIB::mtxrHlFanSpeed9" }\n',
            5,
            "MIKROTIK-MIB defines no object 'mtxrHlFanSpeed9' (did you mean mtxrHlFanSpeed2",
        ),
        (
            'metrics.fan = { object = "1.3.6.1.4.1.14988.1.1.3.17" }\n',
            1,
            "say kind",
        ),
        ('metrics.snmp = { object = "SNMPv2-MIB::sysUpTime" }\n', 1, "built-in check"),
        (
            'metrics.x = { object = "SNMPv2-MIB::sysUpTime", warning = 5, critical = 1 }\n',
            1,
            "warning (5) is above critical (1)",
        ),
        ("metrics.x = { scale = 2 }\n", 1, "metric 'x' names no `object`"),
        ('metrics.x = { object = "SNMPv2-MIB::sysUpTime", combine = "median" }\n', 5, "combine"),
        ('metrics.Bad = { object = "SNMPv2-MIB::sysUpTime" }\n', 1, "name"),
    ],
)
def test_bad_custom_metrics_are_located_load_errors(lines: str, line: int, message: str) -> None:
    # Errors found after layering are located at the device's [[devices]] line.
    with pytest.raises(InventoryError) as raised:
        parse_inventory(BASE + lines, Path("devices.toml"))
    (problem,) = raised.value.problems
    assert message in str(problem)
    assert problem.line == line


def test_unknown_symbol_in_a_group_is_a_load_error_at_its_line() -> None:
    text = '[groups.g.metrics.cpu]\nobject = "ACME-MIB::cpuLoad"\n\n' + BASE
    with pytest.raises(InventoryError) as raised:
        parse_inventory(text, Path("devices.toml"))
    (problem,) = raised.value.problems
    assert "unknown MIB module 'ACME-MIB'" in str(problem)
    assert problem.line == 2
