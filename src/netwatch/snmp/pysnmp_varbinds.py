"""pysnmp's decoded varbinds as netwatch's `VarBind`s (the SNMPv3 path, and the reference the
hand-written v1/v2c codec is tested against)."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Any

from pyasn1.type import univ

from netwatch.samples import SnmpError, SnmpErrorKind
from netwatch.snmp.results import NOT_SUPPORTED_TYPES, RawValue, VarBind

# pysnmp decodes INTEGER as `Integer` on v2c and as `Integer32` after v1→v2 conversion; both
# are the same SMI type.
_TYPE_NAME_ALIASES = {"Integer": "Integer32"}


def varbinds_from_pysnmp(varbinds: Iterable[tuple[Any, Any]]) -> tuple[VarBind, ...] | SnmpError:
    decoded: list[VarBind] = []
    for name, value in varbinds:
        try:
            type_name = type(value).__name__
            type_name = _TYPE_NAME_ALIASES.get(type_name, type_name)
            decoded.append(VarBind(name.prettyPrint(), type_name, _raw_value(value)))
        except Exception as exc:
            return SnmpError(SnmpErrorKind.MALFORMED, f"undecodable value: {type(exc).__name__}")
    return tuple(decoded)


def _raw_value(value: Any) -> RawValue:
    type_name = type(value).__name__
    if type_name in NOT_SUPPORTED_TYPES or isinstance(value, univ.Null):
        return None
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.ObjectIdentifier):
        return str(value.prettyPrint())
    if type_name == "IpAddress":
        return socket.inet_ntoa(bytes(value.asOctets()))
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    raise TypeError(f"unexpected SNMP value type {type_name}")
