"""Counters and uptime between two polls. Pure: values and times in, verdicts out.

RFC 2578: a Counter32 only goes down by wrapping past 2^32, unless the agent had a
discontinuity (it restarted: sysUpTime started over). Counter64 is unsigned and never wraps
in practice, so going down means it was reset. sysUpTime is TimeTicks (1/100 s) and itself
wraps after 497 days, which is not a reboot.
"""

from __future__ import annotations

from dataclasses import dataclass

COUNTER32_RANGE = 2**32
TIMETICKS_RANGE = 2**32
TICKS_PER_SECOND = 100
# How far a sysUpTime may lag what the wall clock says and still be the same boot: agents
# update it coarsely and polls are not instantaneous.
UPTIME_SLACK_S = 30.0


@dataclass(frozen=True, slots=True)
class UptimeSample:
    ticks: int  # sysUpTime.0
    at: float  # wall clock (epoch s) when it was read


@dataclass(frozen=True, slots=True)
class Reboot:
    booted_at: float  # epoch s, from the new sysUpTime

    def describe(self, now: float) -> str:
        minutes = max(0, round((now - self.booted_at) / 60))
        return f"rebooted {minutes} min ago"


def detect_reboot(previous: UptimeSample, current: UptimeSample) -> Reboot | None:
    """A reboot is sysUpTime going backwards, except when it wrapped past 2^32 ticks."""
    if current.ticks >= previous.ticks:
        return None
    elapsed_ticks = (current.at - previous.at) * TICKS_PER_SECOND
    expected = previous.ticks + elapsed_ticks
    if expected >= TIMETICKS_RANGE:
        wrapped_expectation = expected - TIMETICKS_RANGE
        if abs(current.ticks - wrapped_expectation) <= UPTIME_SLACK_S * TICKS_PER_SECOND:
            return None
    return Reboot(booted_at=current.at - current.ticks / TICKS_PER_SECOND)


@dataclass(frozen=True, slots=True)
class CounterChange:
    """How much a counter grew between two polls, or None and why it cannot be told."""

    increase: int | None
    note: str = ""


def counter_change(
    previous: int, current: int, *, bits: int, agent_restarted: bool
) -> CounterChange:
    if bits not in (32, 64):
        raise ValueError(f"counters are 32 or 64 bits, not {bits}")
    if agent_restarted:
        return CounterChange(None, "agent restarted: counter started over")
    if current >= previous:
        return CounterChange(current - previous)
    if bits == 64:
        return CounterChange(None, "Counter64 went down: counter was reset")
    return CounterChange(current + COUNTER32_RANGE - previous, "Counter32 wrapped")
