"""Durations as operators write them, and the short form used in summaries."""

from __future__ import annotations

import pytest

from netwatch.units import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("200ms", 0.2),
        ("1.5m", 90.0),
        (" 2m 30s ", 150.0),
        ("1d", 86400.0),
        ("0s", 0.0),
        (45, 45.0),
        (2.5, 2.5),
    ],
)
def test_parse_duration(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-5m", "duration must not be negative: '-5m'"),
        (-1, "duration must not be negative: -1"),
        ("", 'expected a duration such as "90s", "5m", "1h" or "200ms", got \'\''),
        ("90", 'expected a duration such as "90s", "5m", "1h" or "200ms", got \'90\''),
        (
            "5 minutes",
            'expected a duration such as "90s", "5m", "1h" or "200ms", got \'5 minutes\'',
        ),
        ("5m30", 'expected a duration such as "90s", "5m", "1h" or "200ms", got \'5m30\''),
        (True, 'expected a duration such as "90s" or "5m", got True'),
    ],
)
def test_parse_duration_rejects(text: str | int | float, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.25, "250ms"),
        (45, "45s"),
        (60, "1m"),
        (180, "3m"),
        (7500, "2h5m"),
        (3601, "1h1s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
