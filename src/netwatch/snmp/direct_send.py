"""pysnmp's command generators, addressed by a ready-made `TargetInfo` instead of a target name.

pysnmp's generators look each request's destination up by name in SNMP-TARGET-MIB, so every
device would need a row there. Adding a row costs ~2 ms of CPU and ~20 KB of memory, and each
addition throws away the lookup cache of every other row: at 10,000 devices that is most of a
poll cycle's CPU and 200 MB (bench/isp_cycle.py). Security settings (the USM users)
stay in the engine's tables: there are only a few of them.

`send_pdu` below is pysnmp 7.1's `CommandGenerator.send_pdu` with the lookup replaced; the
response, retry and discovery paths are pysnmp's own and take what it stores here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pysnmp import nextid
from pysnmp.entity.rfc3413 import cmdgen

_request_handles: Any = nextid.Integer(0x7FFFFFFF)


class TargetInfo(NamedTuple):
    """What pysnmp's `config.get_target_info` returns for a configured target."""

    transport_domain: tuple[int, ...]
    transport_address: Any  # the transport's ADDRESS_TYPE
    timeout_centiseconds: int
    retry_count: int
    # pysnmp's typed values from SNMP-TARGET-MIB: its security models key tables by them.
    message_processing_model: Any  # 3 = v3
    security_model: Any  # 3 = USM
    security_name: Any
    security_level: Any


class _DirectSendPdu:
    def send_pdu(
        self,
        snmpEngine: Any,
        targetName: TargetInfo,
        contextEngineId: Any,
        contextName: Any,
        PDU: Any,
        cbFun: Any,
        cbCtx: Any,
    ) -> int:
        info = targetName
        dispatcher = snmpEngine.transport_dispatcher
        timeout_in_ticks = info.timeout_centiseconds / 100 / dispatcher.get_timer_resolution()
        engine_id_type, admin_string_type = snmpEngine.get_mib_builder().import_symbols(
            "SNMP-FRAMEWORK-MIB", "SnmpEngineID", "SnmpAdminString"
        )
        if contextEngineId:
            contextEngineId = engine_id_type(contextEngineId)
        contextName = admin_string_type(contextName)
        pdu_version = 1  # SNMPv3 carries SMIv2 PDUs; v1/v2c do not come here
        request_handle: int = _request_handles()
        send_pdu_handle = snmpEngine.message_dispatcher.send_pdu(
            snmpEngine,
            info.transport_domain,
            info.transport_address,
            info.message_processing_model,
            info.security_model,
            info.security_name,
            info.security_level,
            contextEngineId,
            contextName,
            pdu_version,
            PDU,
            True,
            timeout_in_ticks,
            self.process_response_pdu,  # type: ignore[attr-defined]
            (request_handle, cbFun, cbCtx),
        )
        dispatcher.job_started(id(self))
        # The layout pysnmp's process_response_pdu reads back (retries and discovery included).
        self._CommandGenerator__pendingReqs[send_pdu_handle] = (  # type: ignore[attr-defined]
            info.transport_domain,
            info.transport_address,
            info.message_processing_model,
            info.security_model,
            info.security_name,
            info.security_level,
            contextEngineId,
            contextName,
            pdu_version,
            PDU,
            timeout_in_ticks,
            info.retry_count,
            0,
            0,
        )
        return request_handle


class GetCommandGenerator(_DirectSendPdu, cmdgen.GetCommandGenerator):  # type: ignore[misc]
    pass


class NextCommandGenerator(_DirectSendPdu, cmdgen.NextCommandGenerator):  # type: ignore[misc]
    pass


class BulkCommandGenerator(_DirectSendPdu, cmdgen.BulkCommandGenerator):  # type: ignore[misc]
    pass
