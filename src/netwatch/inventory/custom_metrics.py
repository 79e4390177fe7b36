"""Custom SNMP checks from the inventory: one object, how to read it, and its thresholds.

    [groups.acme-radios.metrics.cpu]            # `cpu`/`temperature` replace the profile's
    object = "1.3.6.1.4.1.99999.1.2.0"          # or "ACME-MIB::cpuLoad"
    scale = 0.1
    label = "CPU load"

    [groups.acme-radios.metrics.modem-temp]     # any other name is a new check
    object = "ENTITY-SENSOR-MIB::entPhySensorValue"
    kind = "table"
    combine = "max"
    signed = true
    unit = "°C"
    warning = 70
    critical = 85

A layer (`[defaults]`, a group, a device) may set any field of a metric; the layers are merged
field by field, and the resolved metric must name its `object`. The object is resolved through
the shipped MIB index at load, so an unknown MIB symbol is an inventory error.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, field_validator, model_validator

from netwatch.inventory.fields import StrictModel
from netwatch.snmp.mibs import MibSymbolError, resolve_name

# Checks netwatch always has under these names; a custom metric cannot reuse them.
RESERVED_NAMES = frozenset({"reachability", "latency", "snmp", "reboot"})
# Custom metrics under these names replace the profile's reading of that metric.
PROFILE_METRICS = frozenset({"cpu", "temperature"})
METRIC_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,62}$"
Combine = Literal["max", "mean", "min", "sum", "first"]


def _check_object(name: str) -> str:
    try:
        resolve_name(name)
    except MibSymbolError as exc:
        raise ValueError(str(exc)) from None
    return name


class CustomMetricLayer(StrictModel):
    """A custom metric as one layer writes it: every field optional."""

    object: str | None = None
    kind: Literal["scalar", "table"] | None = None
    scale: StrictFloat | None = None
    signed: StrictBool | None = None
    combine: Combine | None = None
    sentinels: list[StrictInt] | None = None
    minimum: StrictFloat | None = None
    maximum: StrictFloat | None = None
    label: str | None = Field(default=None, min_length=1, max_length=200)
    unit: str | None = Field(default=None, max_length=20)
    warning: StrictFloat | None = None
    critical: StrictFloat | None = None
    clear: StrictFloat | None = Field(default=None, ge=0)

    @field_validator("object")
    @classmethod
    def _object_resolves(cls, name: str | None) -> str | None:
        return None if name is None else _check_object(name)


class CustomMetric(StrictModel):
    """One resolved custom metric of a device."""

    name: str = Field(pattern=METRIC_NAME_PATTERN)
    object: str
    kind: Literal["scalar", "table"] | None = None
    scale: StrictFloat = 1.0
    signed: StrictBool = False
    combine: Combine = "max"
    sentinels: tuple[int, ...] = ()
    minimum: StrictFloat | None = None
    maximum: StrictFloat | None = None
    label: str | None = None
    unit: str = ""
    warning: StrictFloat | None = None
    critical: StrictFloat | None = None
    clear: StrictFloat | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _names_an_object(cls, data: Any) -> Any:
        if isinstance(data, dict) and "object" not in data:
            name = data.get("name", "?")
            raise ValueError(
                f"metric {name!r} names no `object` (a MIB symbol such as "
                "'UCD-SNMP-MIB::ssCpuIdle' or a numeric OID) in any layer"
            )
        return data

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED_NAMES:
            raise ValueError(f"{name!r} is a built-in check; choose another metric name")
        return name

    @field_validator("object")
    @classmethod
    def _object_resolves(cls, name: str) -> str:
        return _check_object(name)

    @model_validator(mode="after")
    def _consistent(self) -> CustomMetric:
        if self.scale == 0:
            raise ValueError(f"metric {self.name!r}: `scale` must not be 0")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"metric {self.name!r}: `minimum` is above `maximum`")
        if self.warning is not None and self.critical is not None and self.warning > self.critical:
            raise ValueError(
                f"metric {self.name!r}: warning ({self.warning:g}) is above critical "
                f"({self.critical:g})"
            )
        if self.kind is None and resolve_name(self.object).implied_kind is None:
            raise ValueError(
                f"metric {self.name!r}: {self.object!r} is not a scalar or a table column "
                'the MIB knows; say kind = "scalar" or "table"'
            )
        return self

    @property
    def has_thresholds(self) -> bool:
        return self.warning is not None or self.critical is not None

    @property
    def title(self) -> str:
        return self.label or self.name


def resolve_metrics(value: Any) -> Any:
    """The merged `metrics` table ({name: fields}) as a tuple of named metrics."""
    if isinstance(value, dict):
        return tuple(
            {"name": name, **fields} if isinstance(fields, dict) else fields
            for name, fields in value.items()
        )
    return value


MetricNames = dict[str, CustomMetricLayer]
