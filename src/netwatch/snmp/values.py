"""Turning raw SNMP values into the quantity a metric means. Pure: no I/O, no pysnmp.

Values are decoded by what the profile says the metric is, not by the SMI tag the agent
chose: vendors send gauges as Counter32, signed temperatures as unsigned 32-bit numbers,
and numbers as strings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from netwatch.snmp.results import NOT_SUPPORTED_TYPES, RawValue

INTEGER_TYPES = frozenset(
    {"Integer32", "Integer", "Unsigned32", "Gauge32", "Counter32", "Counter64", "TimeTicks"}
)
_UINT32_RANGE = 2**32
_INT32_MAX = 2**31 - 1


class Combine(StrEnum):
    """How several rows of a table become one reading."""

    MEAN = "mean"
    MAX = "max"
    MIN = "min"
    SUM = "sum"
    FIRST = "first"


@dataclass(frozen=True, slots=True)
class ValueRule:
    """How one raw number becomes a reading.

    `value = subtract_from - raw * scale` when `subtract_from` is set (an idle percentage
    read as a load), else `raw * scale`. `sentinels` are raw values that mean "no reading"
    (an absent sensor reading 0, a vendor's -999); `minimum`/`maximum` are plausibility
    limits on the final value.
    """

    scale: float = 1.0
    signed: bool = False
    subtract_from: float | None = None
    sentinels: frozenset[int] = frozenset()
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded value, or None and the reason it is not a reading."""

    value: float | None
    reason: str | None = None


def as_signed32(raw: int) -> int:
    """An unsigned 32-bit number read as two's complement (4294967294 → -2)."""
    if _INT32_MAX < raw < _UINT32_RANGE:
        return raw - _UINT32_RANGE
    return raw


def raw_number(type_name: str, raw: RawValue) -> int | float | None:
    """The number in a varbind, whatever tag carried it; None if it holds no number."""
    if type_name in NOT_SUPPORTED_TYPES or raw is None:
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, bytes):
        # Some agents (UCD laLoad, a few radios) send numbers as DisplayString.
        try:
            number = float(raw.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return None
        if not math.isfinite(number):
            return None
        return int(number) if number.is_integer() else number
    return None


def decode_value(type_name: str, raw: RawValue, rule: ValueRule) -> Decoded:
    if type_name in NOT_SUPPORTED_TYPES:
        return Decoded(None, f"not supported ({type_name})")
    number = raw_number(type_name, raw)
    if number is None:
        return Decoded(None, f"not a number: {type_name} {_preview(raw)}")
    # Counter64 is unsigned by definition: only 32-bit values carry a two's complement sign.
    if rule.signed and isinstance(number, int) and type_name != "Counter64":
        number = as_signed32(number)
    if isinstance(number, int) and number in rule.sentinels:
        return Decoded(None, f"sentinel value {number}")
    value = number * rule.scale
    if rule.subtract_from is not None:
        value = rule.subtract_from - value
    if rule.minimum is not None and value < rule.minimum:
        return Decoded(None, f"implausible value {value:g} (below {rule.minimum:g})")
    if rule.maximum is not None and value > rule.maximum:
        return Decoded(None, f"implausible value {value:g} (above {rule.maximum:g})")
    return Decoded(value)


def entity_sensor_factor(scale: int, precision: int) -> float:
    """ENTITY-SENSOR-MIB: value × 10^(3·(scale−9)) × 10^−precision (scale 9 = units).

    SensorDataScale runs yocto(1) … units(9) … yotta(17) in steps of 10³;
    SensorPrecision is the number of decimal places in the integer value.
    """
    if not 1 <= scale <= 17:
        raise ValueError(f"entPhySensorScale out of range: {scale}")
    if not -8 <= precision <= 9:
        raise ValueError(f"entPhySensorPrecision out of range: {precision}")
    return float(10 ** (3 * (scale - 9) - precision))


def combine(values: Sequence[float], how: Combine) -> float:
    if not values:
        raise ValueError("nothing to combine")
    if how is Combine.MEAN:
        return sum(values) / len(values)
    if how is Combine.MAX:
        return max(values)
    if how is Combine.MIN:
        return min(values)
    if how is Combine.SUM:
        return sum(values)
    return values[0]


def _preview(raw: RawValue) -> str:
    text = repr(raw)
    return text if len(text) <= 40 else text[:37] + "..."
