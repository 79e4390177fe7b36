"""Raw SNMP values → metric quantities: table tests of the pure decoding rules."""

from __future__ import annotations

import pytest

from netwatch.snmp.values import (
    Combine,
    Decoded,
    ValueRule,
    as_signed32,
    combine,
    decode_value,
    entity_sensor_factor,
)

TENTHS = ValueRule(scale=0.1)
CELSIUS = ValueRule(signed=True, minimum=-40, maximum=150)


@pytest.mark.parametrize(
    ("type_name", "raw", "rule", "expected"),
    [
        # the tag does not decide the meaning
        ("Counter32", 420, TENTHS, Decoded(42.0)),
        ("Counter64", 420, TENTHS, Decoded(42.0)),
        ("Gauge32", 420, TENTHS, Decoded(42.0)),
        ("Integer32", 420, TENTHS, Decoded(42.0)),
        ("Unsigned32", 420, TENTHS, Decoded(42.0)),
        # scale factors
        ("Integer32", 400, ValueRule(scale=0.01), Decoded(4.0)),
        ("Gauge32", 36476, ValueRule(scale=0.001), Decoded(36.476)),
        ("Integer32", 440, ValueRule(scale=0.1), Decoded(44.0)),
        # signed quantities sent as unsigned 32-bit
        ("Gauge32", 4294967294, CELSIUS, Decoded(-2.0)),
        ("Integer32", -2, CELSIUS, Decoded(-2.0)),
        ("Gauge32", 4294967196, ValueRule(scale=0.1, signed=True), Decoded(-10.0)),
        ("Gauge32", 4294967294, ValueRule(), Decoded(4294967294.0)),
        # idle percentage read as a load
        ("Integer32", 94, ValueRule(subtract_from=100), Decoded(6.0)),
        # numbers sent as strings
        ("OctetString", b"0.24", ValueRule(), Decoded(0.24)),
        ("OctetString", b" 42 ", ValueRule(), Decoded(42.0)),
    ],
)
def test_decodes_by_meaning(
    type_name: str, raw: object, rule: ValueRule, expected: Decoded
) -> None:
    decoded = decode_value(type_name, raw, rule)  # type: ignore[arg-type]
    assert decoded.reason == expected.reason
    assert decoded.value == pytest.approx(expected.value)


@pytest.mark.parametrize(
    ("type_name", "raw", "rule", "reason_contains"),
    [
        ("NoSuchObject", None, ValueRule(), "not supported"),
        ("NoSuchInstance", None, ValueRule(), "not supported"),
        ("EndOfMibView", None, ValueRule(), "not supported"),
        ("Gauge32", 0, ValueRule(sentinels=frozenset({0})), "sentinel"),
        ("Integer32", -999, ValueRule(sentinels=frozenset({-999})), "sentinel"),
        ("Integer32", 2550, ValueRule(scale=0.1, maximum=150), "implausible"),
        ("Gauge32", 4294967294, ValueRule(minimum=-40, maximum=150), "implausible"),
        ("Integer32", 101, ValueRule(minimum=0, maximum=100), "implausible"),
        ("OctetString", b"n/a", ValueRule(), "not a number"),
        ("OctetString", b"nan", ValueRule(), "not a number"),
        ("ObjectIdentifier", "1.3.6.1", ValueRule(), "not a number"),
        ("Null", None, ValueRule(), "not a number"),
    ],
)
def test_invalid_readings_carry_a_reason(
    type_name: str, raw: object, rule: ValueRule, reason_contains: str
) -> None:
    decoded = decode_value(type_name, raw, rule)  # type: ignore[arg-type]
    assert decoded.value is None
    assert decoded.reason is not None
    assert reason_contains in decoded.reason


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(0, 0), (1, 1), (2**31 - 1, 2**31 - 1), (2**31, -(2**31)), (2**32 - 1, -1), (-5, -5)],
)
def test_as_signed32(raw: int, expected: int) -> None:
    assert as_signed32(raw) == expected


@pytest.mark.parametrize(
    ("scale", "precision", "raw", "expected"),
    [
        (9, 0, 41, 41.0),  # units
        (9, 3, 34574, 34.574),
        (8, 0, 36476, 36.476),  # milli
        (8, 1, 12345, 1.2345),
        (10, 0, 2, 2000.0),  # kilo
        (9, -1, 4, 40.0),
    ],
)
def test_entity_sensor_factor(scale: int, precision: int, raw: int, expected: float) -> None:
    assert raw * entity_sensor_factor(scale, precision) == pytest.approx(expected)


@pytest.mark.parametrize(("scale", "precision"), [(0, 0), (18, 0), (9, 10), (9, -9)])
def test_entity_sensor_factor_rejects_out_of_range(scale: int, precision: int) -> None:
    with pytest.raises(ValueError):
        entity_sensor_factor(scale, precision)


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        (Combine.MEAN, 6.25),
        (Combine.MAX, 10.0),
        (Combine.MIN, 2.0),
        (Combine.SUM, 25.0),
        (Combine.FIRST, 10.0),
    ],
)
def test_combine(how: Combine, expected: float) -> None:
    assert combine([10.0, 2.0, 7.0, 6.0], how) == pytest.approx(expected)


def test_combine_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        combine([], Combine.MEAN)
