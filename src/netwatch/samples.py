"""What the probes hand to the engine: plain, immutable results of one poll.

Probes only produce these; they never decide whether something is a problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class PingResult:
    """N ICMP echo requests to one address."""

    address: str
    sent: int
    received: int
    rtts_ms: tuple[float, ...] = ()
    duplicates: int = 0
    # An ICMP error (unreachable, TTL exceeded) or a local failure (DNS, socket): why replies are
    # missing, when we know.
    error: str | None = None

    @property
    def loss_percent(self) -> float:
        if self.sent <= 0:
            return 100.0
        return 100.0 * (1 - min(self.received, self.sent) / self.sent)

    @property
    def rtt_min_ms(self) -> float | None:
        return min(self.rtts_ms) if self.rtts_ms else None

    @property
    def rtt_avg_ms(self) -> float | None:
        return sum(self.rtts_ms) / len(self.rtts_ms) if self.rtts_ms else None

    @property
    def rtt_max_ms(self) -> float | None:
        return max(self.rtts_ms) if self.rtts_ms else None

    @property
    def jitter_ms(self) -> float | None:
        """Mean deviation of the RTTs from their average (0 for a single reply)."""
        if not self.rtts_ms:
            return None
        average = sum(self.rtts_ms) / len(self.rtts_ms)
        return sum(abs(rtt - average) for rtt in self.rtts_ms) / len(self.rtts_ms)


class SnmpErrorKind(StrEnum):
    TIMEOUT = "timeout"
    AUTH = "authentication"  # v3 wrong key / unknown user / unsupported security level
    NOT_SUPPORTED = "not-supported"  # noSuchObject / noSuchInstance / endOfMibView
    ERROR_STATUS = "error-status"  # the agent answered with a non-zero error-status
    MALFORMED = "malformed"  # undecodable reply, OID mismatch, bad value
    TRANSPORT = "transport"  # local socket / resolution failure


@dataclass(frozen=True, slots=True)
class SnmpError:
    kind: SnmpErrorKind
    message: str

    def __str__(self) -> str:
        return f"{self.kind.value}: {self.message}"


@dataclass(frozen=True, slots=True)
class MetricReading:
    """One metric (cpu, temperature) as read through a profile.

    `value` is None when the metric could not be read; `error` then says why. `source`
    names where the value came from, for people ("hrProcessorLoad mean of 4 rows",
    "sensor 'cpu-temp'").
    """

    value: float | None
    source: str = ""
    error: SnmpError | None = None


@dataclass(frozen=True, slots=True)
class SnmpReading:
    """A device's SNMP poll: the agent failed as a whole (`error`), or per-metric readings."""

    metrics: Mapping[str, MetricReading] = field(default_factory=dict)
    error: SnmpError | None = None
    # The profile the metrics were read through: for `profile = "auto"`, the detected one,
    # with `profile_reason` saying why it was chosen.
    profile: str = ""
    profile_reason: str = ""
    # sysUpTime.0 in 1/100 s, read in the same GET as the profile's scalars: reboots show as
    # an uptime that went backwards (netwatch.snmp.counters.detect_reboot).
    uptime_ticks: int | None = None


@dataclass(frozen=True, slots=True)
class Sample:
    """Everything one poll cycle learnt about one device, at wall-clock time `at` (epoch s)."""

    device_id: str
    at: float
    ping: PingResult | None = None
    snmp: SnmpReading | None = None
