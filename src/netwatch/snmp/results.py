"""What an SNMP request returns: plain values, never exceptions for agent problems."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from netwatch.samples import SnmpError

if TYPE_CHECKING:
    from netwatch.snmp.target import SnmpTarget

# SNMPv2 exception values (RFC 3416): the agent answered, but not with a value.
NOT_SUPPORTED_TYPES = frozenset({"NoSuchObject", "NoSuchInstance", "EndOfMibView"})

RawValue = int | bytes | str | None


@dataclass(frozen=True, slots=True)
class VarBind:
    """One OID and its value as received: the SMI type name and the plain Python value.

    Integers (Integer32, Counter32/64, Gauge32, TimeTicks, Unsigned32) are `int`,
    OCTET STRING and Opaque are `bytes`, OBJECT IDENTIFIER and IpAddress are dotted `str`,
    and the exception values (noSuchObject, noSuchInstance, endOfMibView) are `None`.
    """

    oid: str
    type_name: str
    value: RawValue

    @property
    def not_supported(self) -> bool:
        return self.type_name in NOT_SUPPORTED_TYPES


@dataclass(frozen=True, slots=True)
class GetResult:
    """The answer to one GET: every requested OID in order, or a whole-request `error`."""

    varbinds: tuple[VarBind, ...] = ()
    error: SnmpError | None = None

    def get(self, oid: str) -> VarBind | None:
        for varbind in self.varbinds:
            if varbind.oid == oid:
                return varbind
        return None


@dataclass(frozen=True, slots=True)
class WalkResult:
    """The rows of one subtree, in OID order.

    `error` is set when the walk could not finish; `rows` then holds what arrived before.
    `truncated` says the walk stopped at `max_rows` with more rows in the subtree.
    """

    root_oid: str
    rows: tuple[VarBind, ...] = ()
    error: SnmpError | None = None
    truncated: bool = False

    def by_index(self, column_oid: str) -> dict[str, VarBind]:
        """Rows of one column keyed by their instance suffix (the part after `column_oid.`)."""
        prefix = column_oid.rstrip(".") + "."
        return {
            row.oid[len(prefix) :]: row
            for row in self.rows
            if row.oid.startswith(prefix) and not row.not_supported
        }


class SnmpReader(Protocol):
    """What profiles and detection read through: SnmpClient, or a wrapper that records."""

    async def get(self, target: SnmpTarget, oids: Sequence[str]) -> GetResult: ...

    async def get_next(self, target: SnmpTarget, oids: Sequence[str]) -> GetResult: ...

    async def walk(
        self, target: SnmpTarget, root_oid: str, *, max_rows: int = 1000
    ) -> WalkResult: ...
