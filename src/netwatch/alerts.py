"""What the engine tells the notifier: which devices are alerting, and exactly why."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Level(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2


@dataclass(frozen=True, slots=True)
class FailingCheck:
    """One check currently past its threshold, e.g. cpu 95 % >= 90 % (critical)."""

    check: str  # "reachability", "snmp", "cpu", "temperature"
    level: Level
    value: float | None  # None for checks without a number (snmp: timeout)
    unit: str  # "%", "°C", "% loss", "ms"
    threshold: float | None
    detail: str = ""  # "timeout", "sensor 'cpu-temp'", ...


@dataclass(frozen=True, slots=True)
class DeviceAlert:
    """A device that is alerting now: the notifier turns it into one PagerDuty trigger."""

    device_id: str
    name: str
    address: str
    site: str | None
    failing: tuple[FailingCheck, ...]
    since: float  # epoch seconds when the device started failing
    unreachable_children: tuple[str, ...] = ()
    flapping: bool = False  # held open because it keeps changing state (see engine)
    severity: str | None = None  # PagerDuty severity from the inventory's mapping

    @property
    def level(self) -> Level:
        return max((c.level for c in self.failing), default=Level.OK)
