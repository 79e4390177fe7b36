"""What the daemon and a poll worker say to each other, one frame each."""

from __future__ import annotations

from dataclasses import dataclass

from netwatch.inventory import DeviceConfig
from netwatch.samples import Sample

# ---- daemon → worker -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    """The first frame a worker reads: how to run. Secrets never travel here (nor in argv or
    the environment); they come with the devices."""

    worker: int  # 0 .. workers-1, for its log records
    dns_cache: float
    icmp_identifier: int  # the first ICMP echo identifier this worker's sockets may use
    log_levels: tuple[tuple[str, int], ...]  # (logger name, level); "" is the root logger
    heartbeat_every: float  # seconds between Heartbeats


@dataclass(frozen=True, slots=True)
class Devices:
    """The worker's whole shard, at start and after each reload; replaces the previous one."""

    devices: tuple[DeviceConfig, ...]


@dataclass(frozen=True, slots=True)
class Poll:
    request: int
    device_id: str


# ---- worker → daemon -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Started:
    """ICMP and SNMP are open: polls may come."""


@dataclass(frozen=True, slots=True)
class Refused:
    """The worker cannot poll at all (no ICMP permission): the daemon stops with this reason,
    as it does when it cannot open the sockets itself."""

    reason: str


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The worker's event loop still runs. A worker that hangs (stopped, stuck in a loop, in a
    blocking call) sends none, and the daemon replaces it."""


@dataclass(frozen=True, slots=True)
class Answer:
    request: int
    # None: no sample (the device is not in this worker's shard any more, or its poll failed
    # and the worker has logged why).
    sample: Sample | None


@dataclass(frozen=True, slots=True)
class LogEntry:
    """A log record, formatted in the worker, emitted through the daemon's own logging."""

    name: str
    level: int
    message: str
    created: float
    exception: str | None = None


DaemonMessage = Start | Devices | Poll
WorkerMessage = Started | Refused | Answer | LogEntry | Heartbeat
