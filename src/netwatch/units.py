"""Durations as operators write them: "90s", "5m", "1h", "200ms", "1h30m"."""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SECONDS_PER_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str | int | float) -> float:
    """Seconds for "90s", "5m", "1h30m", "200ms"; a bare number is seconds.

    Raises ValueError with a message meant for people editing the inventory.
    """
    if isinstance(text, bool):
        raise ValueError(f'expected a duration such as "90s" or "5m", got {text!r}')
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        compact = text.strip().replace(" ", "")
        if compact.startswith("-"):
            raise ValueError(f"duration must not be negative: {text!r}")
        parts = _DURATION_PART.findall(compact)
        if not compact or "".join(n + u for n, u in parts) != compact:
            raise ValueError(
                f'expected a duration such as "90s", "5m", "1h" or "200ms", got {text!r}'
            )
        seconds = sum(float(n) * _SECONDS_PER_UNIT[u] for n, u in parts)
    if seconds < 0:
        raise ValueError(f"duration must not be negative: {text!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The short human form used in logs and summaries: 45s, 3m, 2h5m."""
    whole = round(seconds)
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    out = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    if secs or not out:
        out += f"{secs}s"
    return out
