"""How many events a routing key may still send: a sliding window of our own attempts (pure).

PagerDuty throttles about 120 events per minute per routing key over a sliding 60 s window.
Staying below that on our side means a burst is spread out instead of answered with 429s;
every attempt counts, whatever its answer, since PagerDuty counts what it receives.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Final

DEFAULT_EVENTS_PER_MINUTE: Final = 100
DEFAULT_WINDOW_SECONDS: Final = 60.0


@dataclass(slots=True)
class RateBudget:
    """At most `limit` attempts in any `window` seconds; times are monotonic seconds."""

    limit: int = DEFAULT_EVENTS_PER_MINUTE
    window: float = DEFAULT_WINDOW_SECONDS
    _sent_at: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0:
            raise ValueError("a rate budget needs limit ≥ 1 and window > 0")

    def has_room(self, now: float) -> bool:
        self._forget(now)
        return len(self._sent_at) < self.limit

    def spend(self, now: float) -> None:
        self._forget(now)
        self._sent_at.append(now)

    def next_room(self, now: float) -> float:
        """The earliest time (≥ now) at which an attempt fits in the budget."""
        self._forget(now)
        if len(self._sent_at) < self.limit:
            return now
        return self._sent_at[len(self._sent_at) - self.limit] + self.window

    def _forget(self, now: float) -> None:
        while self._sent_at and self._sent_at[0] + self.window <= now:
            self._sent_at.popleft()
