"""When each echo request may leave: a global send rate, so that a thousand devices polled at
the same moment are spread over time instead of bursting into the socket buffers and the
network in one millisecond. Pure: the caller passes the clock."""

from __future__ import annotations


class SendPacer:
    """Hands out send slots at least `spacing` seconds apart, first come first served."""

    def __init__(self, spacing: float) -> None:
        if spacing < 0:
            raise ValueError(f"send spacing must be >= 0, got {spacing}")
        self.spacing = spacing
        self._next_slot = float("-inf")

    def next_slot(self, now: float) -> float:
        """The earliest time the next request may be sent (>= now); reserves it."""
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.spacing
        return slot
