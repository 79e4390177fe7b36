"""`profile = "auto"` on the wire: sysObjectID and sysDescr in one GET, plus one GETNEXT on
the Ubiquiti product branches when the sysObjectID is the one Ubiquiti families share."""

from __future__ import annotations

from netwatch.samples import SnmpError, SnmpErrorKind
from netwatch.snmp.autodetect import Detection, choose_profile, needs_ubiquiti_probe, probe_oids
from netwatch.snmp.oids import is_in_subtree, parse_oid
from netwatch.snmp.results import SnmpReader
from netwatch.snmp.target import SnmpTarget
from netwatch.snmp.text import one_line

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


async def detect_profile(client: SnmpReader, target: SnmpTarget) -> Detection | SnmpError:
    system = await client.get(target, (SYS_OBJECT_ID, SYS_DESCR))
    if system.error is not None:
        return system.error
    object_id_binding = system.get(SYS_OBJECT_ID)
    descr_binding = system.get(SYS_DESCR)
    object_id = (
        object_id_binding.value
        if object_id_binding is not None and isinstance(object_id_binding.value, str)
        else None
    )
    descr = (
        one_line(descr_binding.value)
        if descr_binding is not None and isinstance(descr_binding.value, bytes)
        else ""
    )
    if object_id is None and not descr:
        return SnmpError(SnmpErrorKind.NOT_SUPPORTED, "neither sysObjectID nor sysDescr answer")
    answered: set[str] = set()
    if needs_ubiquiti_probe(object_id):
        branches = probe_oids()
        probe = await client.get_next(target, branches)
        if probe.error is not None and probe.error.kind in (
            SnmpErrorKind.TIMEOUT,
            SnmpErrorKind.AUTH,
            SnmpErrorKind.TRANSPORT,
        ):
            return probe.error
        for branch, binding in zip(branches, probe.varbinds, strict=False):
            if not binding.not_supported and is_in_subtree(
                parse_oid(binding.oid), parse_oid(branch)
            ):
                answered.add(branch)
    return choose_profile(object_id, descr, answered)
