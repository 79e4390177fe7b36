"""The shipped MIB index: built from `mibs/` (copied unmodified), and names resolve through it."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest
from support.paths import REPO, SHARED

from netwatch.snmp.mibs import MibSymbolError, name_for_oid, resolve_name


def _compile_mibs_tool() -> ModuleType:
    path = REPO / "tools" / "compile_mibs.py"
    spec = importlib.util.spec_from_file_location("compile_mibs", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["compile_mibs"] = module
    spec.loader.exec_module(module)
    return module


def test_shipped_index_matches_what_pysmi_compiles_from_mibs_folder() -> None:
    tool = _compile_mibs_tool()
    shipped = (REPO / "src" / "netwatch" / "snmp" / "mib_index.json").read_text("utf-8")
    assert tool.render(tool.compile_index()) == shipped, "run tools/compile_mibs.py"


def test_mib_modules_are_unmodified_copies_of_the_shared_ones() -> None:
    modules = sorted(path for path in (REPO / "mibs").iterdir() if not path.suffix)
    assert len(modules) >= 30
    for module in modules:
        assert module.read_bytes() == (SHARED / "mibs" / module.name).read_bytes(), module.name


@pytest.mark.parametrize(
    ("name", "oid", "node"),
    [
        ("MIKROTIK-MIB::mtxrHlProcessorTemperature", "1.3.6.1.4.1.14988.1.1.3.11.0", "scalar"),
        ("MIKROTIK-MIB::mtxrHlProcessorTemperature.0", "1.3.6.1.4.1.14988.1.1.3.11.0", "scalar"),
        ("HOST-RESOURCES-MIB::hrProcessorLoad", "1.3.6.1.2.1.25.3.3.1.2", "column"),
        ("IF-MIB::ifDescr.7", "1.3.6.1.2.1.2.2.1.2.7", "column"),
        ("UBNT-MIB::ubntAirFIBER", "1.3.6.1.4.1.41112.1.3", "node"),
        ("CAMBIUM-PMP80211-MIB::sysCPUUsage", "1.3.6.1.4.1.17713.21.2.1.64.0", "scalar"),
        ("WHISP-BOX-MIBV2-MIB::boxTemperatureC", "1.3.6.1.4.1.161.19.3.3.1.35.0", "scalar"),
        (
            "MIMOSA-NETWORKS-BFIVE-MIB::mimosaInternalTemp",
            "1.3.6.1.4.1.43356.2.1.2.1.8.0",
            "scalar",
        ),
        ("JUNIPER-MIB::jnxOperatingTemp", "1.3.6.1.4.1.2636.3.1.13.1.7", "column"),
        (".1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.3.0", "numeric"),
    ],
)
def test_names_resolve_to_the_readme_oids(name: str, oid: str, node: str) -> None:
    resolved = resolve_name(name)
    assert (resolved.oid, resolved.node) == (oid, node)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("MIKROTIK-MIB::mtxrHlProcesorTemperature", "did you mean mtxrHlProcessorTemperature"),
        ("MIKROTIK::mtxrHlTemperature", "unknown MIB module 'MIKROTIK'"),
        ("mtxrHlTemperature", "neither MODULE::symbol nor a numeric OID"),
        ("MIKROTIK-MIB::mtxrHlTemperature.x", "not of the form"),
        ("UBNT-AirFIBER-MIB::radioEnable", "unknown MIB module"),
    ],
)
def test_unknown_names_are_errors(name: str, message: str) -> None:
    with pytest.raises(MibSymbolError, match=message):
        resolve_name(name)


def test_oids_are_named_for_people() -> None:
    assert (
        name_for_oid("1.3.6.1.2.1.25.3.3.1.2.196608")
        == "HOST-RESOURCES-MIB::hrProcessorLoad.196608"
    )
    assert name_for_oid("1.3.6.1.2.1.1.3.0") == "SNMPv2-MIB::sysUpTime.0"
    assert name_for_oid("1.3.6.1.4.1.99999.1") == "SNMPv2-SMI::enterprises.99999.1"
