"""The shape of a device profile (src/netwatch/profiles/*.toml), validated at load.

A profile lists, per metric, ordered alternatives: the first one the device answers wins.
An alternative is a scalar (one OID, read in the poll's single GET) or a table column
(walked), with the rows to use, how they combine, and how raw numbers become the quantity.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from netwatch.snmp.mibs import NodeKind, resolve_name
from netwatch.snmp.oids import format_oid, parse_oid
from netwatch.snmp.values import Combine, ValueRule

METRICS = ("cpu", "temperature")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MibObject(_Strict):
    """A numeric OID polled at run time, with its MIB name kept for people.

    Written in a profile as one string, `MODULE::symbol[.instance]` or a numeric OID; the
    name is resolved through the shipped MIB index at load, so an unknown name is a load
    error. `node` is the MIB node kind (scalar, column, …; `numeric` for a bare OID).
    """

    oid: str
    symbol: str = Field(min_length=1)
    node: NodeKind = "numeric"

    @model_validator(mode="before")
    @classmethod
    def _resolve(cls, data: Any) -> Any:
        if isinstance(data, str):
            resolved = resolve_name(data)
            return {"oid": resolved.oid, "symbol": resolved.name, "node": resolved.node}
        if isinstance(data, MibObject):
            return data
        raise ValueError("name the object as a string: 'MODULE::symbol' or a numeric OID")

    @field_validator("oid")
    @classmethod
    def _numeric(cls, oid: str) -> str:
        return format_oid(parse_oid(oid))


class RowFilter(_Strict):
    """Keep a row when the same-index cell of `column` equals a value or matches a regex."""

    column: MibObject
    equals: int | str | None = None
    matches: str | None = None

    @model_validator(mode="after")
    def _one_test(self) -> RowFilter:
        if (self.equals is None) == (self.matches is None):
            raise ValueError("a row filter needs exactly one of `equals` or `matches`")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"bad regular expression {self.matches!r}: {exc}") from None
        return self


class EntitySensorScaling(_Strict):
    """Per-row scale from ENTITY-SENSOR-MIB entPhySensorScale and entPhySensorPrecision."""

    scale: MibObject
    precision: MibObject


class Alternative(_Strict):
    """One way to read a metric. `kind` follows from the MIB (a scalar object is read with
    GET, a table column is walked); it must be given for a numeric OID."""

    kind: Literal["scalar", "table"]
    value: MibObject
    scale: float = 1.0
    signed: bool = False
    subtract_from: float | None = None
    sentinels: tuple[int, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    # table only
    combine: Combine = Combine.MEAN
    select: tuple[RowFilter, ...] = ()
    label: MibObject | None = None
    entity_sensor: EntitySensorScaling | None = None

    @model_validator(mode="before")
    @classmethod
    def _kind_from_the_mib(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "kind" in data or not isinstance(data.get("value"), str):
            return data
        resolved = resolve_name(data["value"])
        kind = resolved.implied_kind
        if kind is None:
            raise ValueError(
                f"{data['value']!r} is not a scalar or a table column the MIB knows: say `kind`"
            )
        return {**data, "kind": kind}

    @model_validator(mode="after")
    def _table_fields_on_tables(self) -> Alternative:
        if self.kind == "scalar" and (self.select or self.label or self.entity_sensor):
            raise ValueError("`select`, `label` and `entity_sensor` apply to tables only")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("`minimum` is above `maximum`")
        if self.scale == 0:
            raise ValueError("`scale` must not be 0")
        return self

    @property
    def rule(self) -> ValueRule:
        return ValueRule(
            scale=self.scale,
            signed=self.signed,
            subtract_from=self.subtract_from,
            sentinels=frozenset(self.sentinels),
            minimum=self.minimum,
            maximum=self.maximum,
        )


class Profile(_Strict):
    """`cpu` and `temperature` from the profile file; `extra` holds the inventory's custom
    metrics (name → alternatives), added per device by `with_custom_metrics`."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    cpu: tuple[Alternative, ...] = ()
    temperature: tuple[Alternative, ...] = ()
    extra: tuple[tuple[str, tuple[Alternative, ...]], ...] = ()

    @property
    def metric_names(self) -> tuple[str, ...]:
        return (*METRICS, *(name for name, _ in self.extra))

    def alternatives(self, metric: str) -> tuple[Alternative, ...]:
        if metric == "cpu":
            return self.cpu
        if metric == "temperature":
            return self.temperature
        for name, alternatives in self.extra:
            if name == metric:
                return alternatives
        raise KeyError(metric)

    @property
    def scalar_oids(self) -> tuple[str, ...]:
        """Every scalar OID of every alternative, once, in profile order: one GET reads them."""
        seen: dict[str, None] = {}
        for metric in self.metric_names:
            for alternative in self.alternatives(metric):
                if alternative.kind == "scalar":
                    seen.setdefault(alternative.value.oid, None)
        return tuple(seen)
