"""Built-in device profiles (package data) and reading a device's metrics through one."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

from pydantic import ValidationError

from netwatch.inventory.custom_metrics import CustomMetric
from netwatch.samples import MetricReading, SnmpError, SnmpErrorKind, SnmpReading
from netwatch.snmp.profile_model import METRICS, Alternative, MibObject, Profile
from netwatch.snmp.results import GetResult, SnmpReader, VarBind, WalkResult
from netwatch.snmp.target import SnmpTarget
from netwatch.snmp.values import (
    Combine,
    combine,
    decode_value,
    entity_sensor_factor,
    raw_number,
)

__all__ = [
    "PROFILE_NAMES",
    "Profile",
    "ProfileError",
    "load_profile",
    "read_profile",
    "with_custom_metrics",
]

PROFILE_NAMES: tuple[str, ...] = tuple(
    sorted(
        entry.name.removesuffix(".toml")
        for entry in resources.files("netwatch.profiles").iterdir()
        if entry.name.endswith(".toml")
    )
)
# Failures that mean "this device does not answer us", not "this metric is missing".
_DEVICE_WIDE_ERRORS = frozenset(
    {SnmpErrorKind.TIMEOUT, SnmpErrorKind.AUTH, SnmpErrorKind.TRANSPORT}
)


class ProfileError(ValueError):
    """A profile that does not exist or does not validate."""


def parse_profile(text: str, *, origin: str) -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{origin}: {exc}") from None
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        raise ProfileError(f"{origin}: {exc}") from None


@cache
def load_profile(name: str) -> Profile:
    if name not in PROFILE_NAMES:
        raise ProfileError(f"unknown profile {name!r}; known: {', '.join(PROFILE_NAMES)}")
    resource = resources.files("netwatch.profiles").joinpath(f"{name}.toml")
    profile = parse_profile(resource.read_text(encoding="utf-8"), origin=f"{name}.toml")
    if profile.name != name:
        raise ProfileError(f"{name}.toml: `name` is {profile.name!r}, expected {name!r}")
    return profile


def with_custom_metrics(profile: Profile, metrics: Iterable[CustomMetric]) -> Profile:
    """`profile` plus the inventory's custom metrics: `cpu`/`temperature` replace the
    profile's alternatives (the user said where to read them), other names are added."""
    replaced: dict[str, tuple[Alternative, ...]] = {}
    extra: list[tuple[str, tuple[Alternative, ...]]] = []
    for metric in metrics:
        fields: dict[str, Any] = {
            "value": metric.object,
            "scale": metric.scale,
            "signed": metric.signed,
            "sentinels": metric.sentinels,
            "minimum": metric.minimum,
            "maximum": metric.maximum,
            "combine": metric.combine,
        }
        if metric.kind is not None:
            fields["kind"] = metric.kind
        alternative = Alternative.model_validate(fields)
        if metric.name in METRICS:
            replaced[metric.name] = (alternative,)
        else:
            extra.append((metric.name, (alternative,)))
    if not replaced and not extra:
        return profile
    return profile.model_copy(update={**replaced, "extra": (*profile.extra, *extra)})


SYS_UPTIME = "1.3.6.1.2.1.1.3.0"


@dataclass(frozen=True, slots=True)
class _Miss:
    """An alternative that gave no value: `invalid` when the device answered with junk."""

    reason: str
    invalid: bool = False


class _DeviceUnreachable(Exception):
    def __init__(self, error: SnmpError) -> None:
        super().__init__(str(error))
        self.error = error


async def read_profile(client: SnmpReader, target: SnmpTarget, profile: Profile) -> SnmpReading:
    """CPU (%) and temperature (°C) of one device: one GET for the scalars, walks for tables."""
    reader = _ProfileReader(client, target)
    try:
        scalars = await reader.read_scalars((*profile.scalar_oids, SYS_UPTIME))
        metrics = {
            metric: await reader.read_metric(profile.alternatives(metric), scalars)
            for metric in profile.metric_names
        }
    except _DeviceUnreachable as unreachable:
        return SnmpReading(error=unreachable.error)
    uptime = scalars.get(SYS_UPTIME)
    uptime_ticks = uptime.value if uptime is not None and isinstance(uptime.value, int) else None
    return SnmpReading(metrics=metrics, uptime_ticks=uptime_ticks)


class _ProfileReader:
    def __init__(self, client: SnmpReader, target: SnmpTarget) -> None:
        self._client = client
        self._target = target
        self._walks: dict[str, WalkResult] = {}

    async def read_scalars(self, oids: tuple[str, ...]) -> GetResult:
        if not oids:
            return GetResult()
        result = await self._client.get(self._target, oids)
        if result.error is not None and result.error.kind in _DEVICE_WIDE_ERRORS:
            raise _DeviceUnreachable(result.error)
        return result

    async def read_metric(
        self, alternatives: tuple[Alternative, ...], scalars: GetResult
    ) -> MetricReading:
        if not alternatives:
            return MetricReading(
                None, error=SnmpError(SnmpErrorKind.NOT_SUPPORTED, "profile has no source")
            )
        misses: list[_Miss] = []
        for alternative in alternatives:
            if alternative.kind == "scalar":
                outcome = _read_scalar(alternative, scalars)
            else:
                outcome = await self._read_table(alternative)
            if isinstance(outcome, MetricReading):
                return outcome
            misses.append(outcome)
        invalid = [miss.reason for miss in misses if miss.invalid]
        if invalid:
            return MetricReading(None, error=SnmpError(SnmpErrorKind.MALFORMED, "; ".join(invalid)))
        return MetricReading(
            None,
            error=SnmpError(SnmpErrorKind.NOT_SUPPORTED, "; ".join(miss.reason for miss in misses)),
        )

    async def _column(self, column: MibObject) -> dict[str, VarBind]:
        walk = self._walks.get(column.oid)
        if walk is None:
            walk = await self._client.walk(self._target, column.oid)
            if walk.error is not None and walk.error.kind in _DEVICE_WIDE_ERRORS:
                raise _DeviceUnreachable(walk.error)
            self._walks[column.oid] = walk
        return walk.by_index(column.oid)

    async def _read_table(self, alternative: Alternative) -> MetricReading | _Miss:
        symbol = alternative.value.symbol
        values = await self._column(alternative.value)
        if not values:
            return _Miss(f"{symbol}: no rows")
        indices = list(values)
        for row_filter in alternative.select:
            cells = await self._column(row_filter.column)
            indices = [
                index
                for index in indices
                if index in cells
                and _cell_matches(cells[index], row_filter.equals, row_filter.matches)
            ]
        if not indices:
            return _Miss(f"{symbol}: no row matches the profile's selection")
        labels = await self._column(alternative.label) if alternative.label else {}
        factors = await self._entity_factors(alternative, indices)
        readings: list[tuple[float, str]] = []
        invalid: list[str] = []
        for index in indices:
            cell = values[index]
            rule = alternative.rule
            if alternative.entity_sensor is not None:
                factor = factors.get(index)
                if factor is None:
                    invalid.append(f"{symbol}.{index}: no valid sensor scale/precision")
                    continue
                # Plausibility limits apply to the scaled value, so the factor joins the rule.
                rule = replace(rule, scale=rule.scale * factor)
            decoded = decode_value(cell.type_name, cell.value, rule)
            if decoded.value is None:
                invalid.append(f"{symbol}.{index}: {decoded.reason}")
                continue
            readings.append((decoded.value, _label(labels.get(index), index)))
        if not readings:
            return _Miss("; ".join(invalid), invalid=True)
        value = combine([reading for reading, _ in readings], alternative.combine)
        return MetricReading(value, source=_table_source(alternative, readings, value))

    async def _entity_factors(
        self, alternative: Alternative, indices: list[str]
    ) -> dict[str, float | None]:
        if alternative.entity_sensor is None:
            return {}
        scales = await self._column(alternative.entity_sensor.scale)
        precisions = await self._column(alternative.entity_sensor.precision)
        factors: dict[str, float | None] = {}
        for index in indices:
            scale = (
                raw_number(scales[index].type_name, scales[index].value)
                if index in scales
                else None
            )
            precision = (
                raw_number(precisions[index].type_name, precisions[index].value)
                if index in precisions
                else None
            )
            try:
                factors[index] = entity_sensor_factor(int(scale or 0), int(precision or 0))
            except ValueError:
                factors[index] = None
        return factors


def _number_at(cells: dict[str, VarBind], index: str) -> int | float | None:
    cell = cells.get(index)
    return None if cell is None else raw_number(cell.type_name, cell.value)


def _read_scalar(alternative: Alternative, scalars: GetResult) -> MetricReading | _Miss:
    symbol = alternative.value.symbol
    if scalars.error is not None:
        return _Miss(f"{symbol}: {scalars.error}", invalid=True)
    varbind = scalars.get(alternative.value.oid)
    if varbind is None:
        return _Miss(f"{symbol}: not in the reply", invalid=True)
    decoded = decode_value(varbind.type_name, varbind.value, alternative.rule)
    if decoded.value is None:
        return _Miss(f"{symbol}: {decoded.reason}", invalid=not varbind.not_supported)
    return MetricReading(decoded.value, source=symbol)


def _cell_matches(cell: VarBind, equals: int | str | None, matches: str | None) -> bool:
    if matches is not None:
        return re.search(matches, _text(cell)) is not None
    if isinstance(equals, int):
        return raw_number(cell.type_name, cell.value) == equals
    return _text(cell) == equals


def _text(cell: VarBind) -> str:
    if isinstance(cell.value, bytes):
        return cell.value.decode("utf-8", errors="replace").strip("\x00").strip()
    return "" if cell.value is None else str(cell.value)


def _label(cell: VarBind | None, index: str) -> str:
    text = _text(cell) if cell is not None else ""
    return text or f"row {index}"


_COMBINE_WORDS = {
    Combine.MEAN: "mean",
    Combine.MAX: "highest",
    Combine.MIN: "lowest",
    Combine.SUM: "sum",
    Combine.FIRST: "first",
}


def _table_source(alternative: Alternative, readings: list[tuple[float, str]], value: float) -> str:
    symbol = alternative.value.symbol
    if len(readings) == 1:
        return f"{symbol} '{readings[0][1]}'"
    word = _COMBINE_WORDS[alternative.combine]
    if alternative.combine in (Combine.MAX, Combine.MIN, Combine.FIRST):
        chosen = next(label for reading, label in readings if reading == value)
        return f"{word} of {len(readings)} rows of {symbol}: '{chosen}'"
    return f"{word} of {len(readings)} rows of {symbol}"
