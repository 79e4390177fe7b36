"""`profile = "auto"`: which built-in profile fits a device, from what it says about itself.

Pure rules: sysObjectID first (by MIB name where the shipped MIBs define the branch), then
sysDescr. Ubiquiti airOS, airFiber and UniFi all report Frogfoot's generic sysObjectID
(1.3.6.1.4.1.10002.1) with a "Linux …" sysDescr, so for those one GETNEXT on the three
Ubiquiti product branches tells them apart (`UBIQUITI_PROBE`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from netwatch.snmp.mibs import resolve_name
from netwatch.snmp.oids import is_in_subtree, parse_oid

AUTO = "auto"
FALLBACK_PROFILE = "host-resources"


@dataclass(frozen=True, slots=True)
class Detection:
    """The chosen profile and why, in words for the status page and `netwatch poll`."""

    profile: str
    reason: str


def _oid(name: str) -> tuple[int, ...]:
    return parse_oid(resolve_name(name).oid)


# (sysObjectID branch, profile, family); the first branch that holds the sysObjectID wins.
_BY_OBJECT_ID: tuple[tuple[str, str, str], ...] = (
    ("MIKROTIK-MIB::mikrotik", "mikrotik", "MikroTik RouterOS"),
    ("UBNT-MIB::ubntEdgeMax", "edgeos", "Ubiquiti EdgeMAX"),
    ("CAMBIUM-PMP80211-MIB::cambium", "cambium-epmp", "Cambium ePMP"),
    ("WHISP-GLOBAL-REG-MIB::whispRoot", "cambium-pmp", "Cambium PMP/Canopy"),
    ("MIMOSA-NETWORKS-BASE-MIB::mimosa", "mimosa", "Mimosa"),
    ("CISCO-SMI::cisco", "cisco-ios", "Cisco"),
    ("JUNIPER-SMI::juniperMIB", "junos", "Juniper"),
)
SHARED_UBIQUITI_OBJECT_ID = "FROGFOOT-RESOURCES-MIB::servers"
# NET-SNMP-MIB::netSnmp (the NET-SNMP MIBs are not shipped): plain net-snmp agents.
_NET_SNMP = parse_oid("1.3.6.1.4.1.8072")
# The product branches a Ubiquiti device answers under, probed with one GETNEXT each, in
# one PDU; (branch, profile, family).
UBIQUITI_PROBE: tuple[tuple[str, str, str], ...] = (
    ("UBNT-AirMAX-MIB::ubntAirMAX", "airos", "Ubiquiti airMAX (airOS)"),
    # No airFiber profile yet: its MIB has neither CPU nor a host temperature we read.
    ("UBNT-MIB::ubntAirFIBER", FALLBACK_PROFILE, "Ubiquiti airFiber"),
    ("UBNT-MIB::ubntUniFi", FALLBACK_PROFILE, "Ubiquiti UniFi"),
)


def probe_oids() -> tuple[str, ...]:
    return tuple(resolve_name(branch).oid for branch, _, _ in UBIQUITI_PROBE)


def needs_ubiquiti_probe(sys_object_id: str | None) -> bool:
    return sys_object_id is not None and _parse(sys_object_id) == _oid(SHARED_UBIQUITI_OBJECT_ID)


def choose_profile(
    sys_object_id: str | None,
    sys_descr: str,
    answered_branches: Collection[str] = (),
) -> Detection:
    """`answered_branches`: the probe OIDs (`probe_oids()`) under which the device answered."""
    object_id = _parse(sys_object_id) if sys_object_id else None
    shown = sys_object_id or "no sysObjectID"
    if object_id is not None:
        for branch, profile, family in _BY_OBJECT_ID:
            if object_id == _oid(branch) or is_in_subtree(object_id, _oid(branch)):
                return Detection(profile, f"sysObjectID {shown} ({family})")
    if needs_ubiquiti_probe(sys_object_id):
        for branch, profile, family in UBIQUITI_PROBE:
            if resolve_name(branch).oid in answered_branches:
                return Detection(profile, f"sysObjectID {shown}, answers under {branch} ({family})")
        return Detection(
            FALLBACK_PROFILE, f"sysObjectID {shown}, no Ubiquiti product branch answers"
        )
    first_word = sys_descr.split(maxsplit=1)[0] if sys_descr.split() else ""
    if first_word == "EdgeOS":
        return Detection("edgeos", "sysDescr starts with EdgeOS")
    if first_word == "RouterOS":
        return Detection("mikrotik", "sysDescr starts with RouterOS")
    if object_id is not None and is_in_subtree(object_id, _NET_SNMP) and first_word == "Linux":
        return Detection("linux", f"sysObjectID {shown} (net-snmp) on Linux")
    return Detection(FALLBACK_PROFILE, f"sysObjectID {shown}: no specific profile, generic MIBs")


def _parse(oid: str) -> tuple[int, ...] | None:
    try:
        return parse_oid(oid)
    except ValueError:
        return None
