"""`profile = "auto"` against every recording, the pure rules, and text decoding for people."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import SHARED
from support.snmp_agents import SnmpsimAgent
from test_snmp_profiles import DEVICES

from netwatch.inventory import parse_inventory
from netwatch.poller import NetworkProber
from netwatch.samples import SnmpErrorKind
from netwatch.snmp.autodetect import Detection, choose_profile, probe_oids
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.detect import detect_profile
from netwatch.snmp.text import decode_text, display_text, one_line

AIRMAX, AIRFIBER, UNIFI = probe_oids()


@pytest.mark.parametrize("device", sorted(DEVICES))
async def test_auto_picks_the_profile_the_readme_table_uses(
    snmp_client: SnmpClient, snmpsim_agent: SnmpsimAgent, device: str
) -> None:
    detection = await detect_profile(snmp_client, snmpsim_agent.target(device))

    assert isinstance(detection, Detection), detection
    assert detection.profile == DEVICES[device][0], detection


async def test_ubiquiti_families_sharing_a_sys_object_id_are_told_apart_by_the_probe(
    snmp_client: SnmpClient, snmpsim_agent: SnmpsimAgent
) -> None:
    airos = await detect_profile(snmp_client, snmpsim_agent.target("airos"))
    unifi = await detect_profile(snmp_client, snmpsim_agent.target("unifi"))

    assert airos == Detection(
        "airos",
        "sysObjectID 1.3.6.1.4.1.10002.1, answers under UBNT-AirMAX-MIB::ubntAirMAX "
        "(Ubiquiti airMAX (airOS))",
    )
    assert unifi == Detection(
        "host-resources",
        "sysObjectID 1.3.6.1.4.1.10002.1, answers under UBNT-MIB::ubntUniFi (Ubiquiti UniFi)",
    )


async def test_prober_records_the_chosen_profile_and_reads_through_it(
    snmp_client: SnmpClient, snmpsim_agent: SnmpsimAgent
) -> None:
    text = (
        f'[[devices]]\nid = "crs"\naddress = "{snmpsim_agent.address}"\nprofile = "auto"\n'
        f'snmp = {{ port = {snmpsim_agent.port}, community = "routeros_crs317" }}\n'
    )
    device = parse_inventory(text, Path("devices.toml")).devices[0]
    prober = NetworkProber(pinger=None, snmp=snmp_client, wall_clock=lambda: 0.0)  # type: ignore[arg-type]

    assert prober.detected_profile("crs") is None
    reading = await prober.read_snmp(device, snmpsim_agent.target("routeros_crs317"))

    assert reading.error is None
    assert reading.profile == "mikrotik"
    assert reading.profile_reason == "sysObjectID 1.3.6.1.4.1.14988.1 (MikroTik RouterOS)"
    assert reading.metrics["temperature"].value == pytest.approx(44.0)
    assert prober.detected_profile("crs") == Detection("mikrotik", reading.profile_reason)


async def test_auto_on_a_silent_agent_is_a_timeout_and_is_retried_later(
    snmp_client: SnmpClient, snmpsim_agent: SnmpsimAgent
) -> None:
    detection = await detect_profile(
        snmp_client, snmpsim_agent.target("no-such-community", timeout=0.2, retries=0)
    )
    assert not isinstance(detection, Detection)
    assert detection.kind is SnmpErrorKind.TIMEOUT


@pytest.mark.parametrize(
    ("object_id", "descr", "branches", "profile"),
    [
        ("1.3.6.1.4.1.10002.1", "Linux 3.3.8", {AIRFIBER}, "host-resources"),
        ("1.3.6.1.4.1.10002.1", "Linux 3.3.8", {AIRMAX, UNIFI}, "airos"),
        ("1.3.6.1.4.1.10002.1", "Linux 3.3.8", set(), "host-resources"),
        ("1.3.6.1.4.1.99.1", "", set(), "host-resources"),  # 99 is not Cisco's 9
        ("1.3.6.1.4.1.9", "", set(), "cisco-ios"),
        ("1.3.6.1.4.1.8072.3.2.10", "Linux pi 5.4", set(), "linux"),
        ("1.3.6.1.4.1.8072.3.2.8", "FreeBSD", set(), "host-resources"),
        (None, "EdgeOS v2.0.9", set(), "edgeos"),
        ("not an oid", "RouterOS RB4011", set(), "mikrotik"),
    ],
)
def test_rules(object_id: str | None, descr: str, branches: set[str], profile: str) -> None:
    assert choose_profile(object_id, descr, branches).profile == profile


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (b"caf\xc3\xa9", "café"),
        (b"Acme\xae Router", "Acme® Router"),  # cp1252
        (b"\xff\xfe", "ÿþ"),  # cp1252 too: never an exception
        (b"\x81\x8d", "\x81\x8d"),  # undefined in cp1252: Latin-1
    ],
)
def test_octet_strings_decode_with_fallbacks(raw: bytes, decoded: str) -> None:
    assert decode_text(raw) == decoded


def test_cisco_multi_line_sys_descr_displays_cleanly() -> None:
    recording = SHARED / "snmprec" / "ios_c2960s.snmprec"
    line = next(
        entry
        for entry in recording.read_text().splitlines()
        if entry.startswith("1.3.6.1.2.1.1.1.0|")
    )
    raw = bytes.fromhex(line.split("|")[2])
    assert b"\r\n" in raw

    assert display_text(raw).split("\n")[1] == "Technical Support: http://www.cisco.com/techsupport"
    assert "\r" not in display_text(raw)
    assert one_line(raw).startswith("Cisco IOS Software, C2960S Software")
    assert " | Technical Support: http://www.cisco.com/techsupport | Copyright" in one_line(raw)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"RouterOS RB750Gr3\x00\x00", "RouterOS RB750Gr3"),
        (b"bell\x07here", "bell\\x07here"),
        (b"\x00\x01\x02\x03\x04\x05ab", "0x00010203040561 62".replace(" ", "")),
        (b"  padded  \r\n", "padded"),
    ],
)
def test_display_text(raw: bytes, shown: str) -> None:
    assert display_text(raw) == shown
