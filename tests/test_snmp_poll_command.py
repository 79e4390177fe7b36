"""`netwatch poll`: one poll of a real agent, printed for the field technician."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.snmp_agents import SnmpsimAgent

from netwatch.cli import main


def _poll(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["poll", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_poll_by_address_prints_varbinds_readings_and_verdicts(
    snmpsim_agent: SnmpsimAgent, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _poll(
        capsys,
        "--address", snmpsim_agent.address,
        "--port", str(snmpsim_agent.port),
        "--community", "routeros_crs317",
    )  # fmt: skip

    assert code == 0, out
    lines = out.splitlines()
    assert (
        lines[1] == "profile mikrotik (auto: sysObjectID 1.3.6.1.4.1.14988.1 (MikroTik RouterOS))"
    )
    varbinds = {line.split()[0]: line for line in lines if line.startswith("  1.3.6.")}
    assert varbinds["1.3.6.1.2.1.1.1.0"].split(None, 3)[1:] == [
        "SNMPv2-MIB::sysDescr.0",
        "OctetString",
        "'RouterOS CRS317-1G-16S+'",
    ]
    assert varbinds["1.3.6.1.4.1.14988.1.1.3.11.0"].split()[1:] == [
        "MIKROTIK-MIB::mtxrHlProcessorTemperature.0",
        "Integer32",
        "440",
    ]
    assert varbinds["1.3.6.1.4.1.14988.1.1.3.10.0"].split()[1:] == [
        "MIKROTIK-MIB::mtxrHlTemperature.0",
        "NoSuchInstance",
        "(NoSuchInstance)",
    ]
    assert "1.3.6.1.2.1.25.3.3.1.2.2" in varbinds  # the walked hrProcessorLoad rows
    assert (
        "  cpu            16.5       mean of 2 rows of HOST-RESOURCES-MIB::hrProcessorLoad" in lines
    )
    assert "  temperature    44         MIKROTIK-MIB::mtxrHlProcessorTemperature.0" in lines
    assert "  cpu            ok        16.5% (threshold" not in out  # ok has no threshold
    assert any(line.startswith("  cpu            ok        16.5%") for line in lines)
    assert any(line.startswith("  temperature    ok        44°C") for line in lines)
    assert "routeros_crs317" not in out.replace("community", "")  # never the community
    assert "--community was given literally" in out


def test_a_community_by_reference_gets_no_warning(
    snmpsim_agent: SnmpsimAgent, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLL_COMMUNITY", "routeros_crs317")
    code, out = _poll(
        capsys,
        "--address", snmpsim_agent.address,
        "--port", str(snmpsim_agent.port),
        "--community", "env:POLL_COMMUNITY",
    )  # fmt: skip

    assert code == 0, out
    assert "temperature    44" in out
    assert "warning" not in out


def test_poll_an_inventory_device_with_a_custom_check_and_a_failing_threshold(
    snmpsim_agent: SnmpsimAgent, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "devices.toml"
    config.write_text(
        f'[[devices]]\nid = "pmp"\naddress = "{snmpsim_agent.address}"\nprofile = "cambium-pmp"\n'
        f'snmp = {{ port = {snmpsim_agent.port}, community = "env:PMP_COMMUNITY" }}\n'
        'metrics.uptime = { object = "SNMPv2-MIB::sysUpTime", scale = 0.01, unit = " s", '
        "warning = 1 }\n"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PMP_COMMUNITY", "pmp_450i")
        code, out = _poll(capsys, "pmp", "--config", str(config))

    assert code == 0, out
    assert "profile cambium-pmp\n" in out
    assert "  temperature    -2         WHISP-BOX-MIBV2-MIB::boxTemperatureC.0" in out
    verdicts = out.split("verdicts:\n")[1].splitlines()
    uptime = next(line for line in verdicts if line.startswith("  uptime "))
    assert uptime.split()[1] == "warning"
    assert "(threshold 1)" in uptime
    assert "pmp_450i" not in out


def test_poll_of_an_unknown_device_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "devices.toml"
    config.write_text("")
    code, out = _poll(capsys, "nope", "--config", str(config))
    assert code == 2
    assert "no device 'nope'" in out
