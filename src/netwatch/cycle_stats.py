"""One machine-readable record per poll cycle, for operators' own monitoring and for bench/.

`netwatch run --cycle-stats FILE` appends one JSON object per line: how long the cycle's polls
took, how many devices were polled or abandoned as late, how many echo replies and SNMP
readings came back, and the CPU time and peak memory so far of the daemon and its poll workers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from netwatch.samples import Sample
from netwatch.workers.usage import ProcessUsage, own_usage, reaped_children_cpu_s

if TYPE_CHECKING:
    from netwatch.monitor import CycleReport

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CycleStats:
    cycle: int
    started: float  # wall clock, epoch seconds
    duration_s: float  # from the first poll started to the last one finished or abandoned
    devices: int  # enabled devices this cycle
    polled: int
    late: int  # abandoned at the end of the interval
    pings_sent: int
    pings_received: int
    snmp_polled: int  # devices with an SNMP reading this cycle
    snmp_complete: int  # ... of which every metric has a value
    snmp_failed: int  # ... of which the agent failed as a whole (timeout, auth, transport)
    # user + system CPU seconds since the daemon started: its own, its running poll workers'
    # and those of workers that have exited
    cpu_s: float
    max_rss_kib: int  # the daemon's peak resident memory plus each running worker's peak
    # one entry per running poll worker (none when the daemon polls by itself)
    worker_cpu_s: tuple[float, ...] = ()
    worker_max_rss_kib: tuple[int, ...] = ()

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def summarize_samples(samples: Mapping[str, Sample]) -> dict[str, int]:
    """The counts of a cycle's samples; pure."""
    pings_sent = pings_received = snmp_polled = snmp_complete = snmp_failed = 0
    for sample in samples.values():
        if sample.ping is not None:
            pings_sent += sample.ping.sent
            pings_received += min(sample.ping.received, sample.ping.sent)
        if sample.snmp is not None:
            snmp_polled += 1
            if sample.snmp.error is not None:
                snmp_failed += 1
            elif sample.snmp.metrics and all(
                reading.value is not None for reading in sample.snmp.metrics.values()
            ):
                snmp_complete += 1
    return {
        "pings_sent": pings_sent,
        "pings_received": pings_received,
        "snmp_polled": snmp_polled,
        "snmp_complete": snmp_complete,
        "snmp_failed": snmp_failed,
    }


def stats_from_report(report: CycleReport, workers: Sequence[ProcessUsage] = ()) -> CycleStats:
    own = own_usage()
    cpu_s = own.cpu_s + reaped_children_cpu_s() + sum(worker.cpu_s for worker in workers)
    max_rss_kib = own.max_rss_kib + sum(worker.max_rss_kib for worker in workers)
    return CycleStats(
        cycle=report.number,
        started=report.started,
        duration_s=round(report.duration, 3),
        devices=report.polled + report.late,
        polled=report.polled,
        late=report.late,
        **summarize_samples(report.samples),
        cpu_s=round(cpu_s, 3),
        max_rss_kib=max_rss_kib,
        worker_cpu_s=tuple(round(worker.cpu_s, 3) for worker in workers),
        worker_max_rss_kib=tuple(worker.max_rss_kib for worker in workers),
    )


class CycleStatsWriter:
    """Appends one line per cycle and flushes it, so a reader sees each cycle as it ends."""

    def __init__(
        self, path: Path, workers: Callable[[], Sequence[ProcessUsage]] = lambda: ()
    ) -> None:
        self.path = path
        self._workers = workers
        self._stream: TextIO = path.open("a", encoding="utf-8")

    def write(self, stats: CycleStats) -> None:
        try:
            self._stream.write(stats.to_json() + "\n")
            self._stream.flush()
        except OSError as exc:
            # A full disk must not stop the monitoring itself.
            log.warning("cannot write cycle stats to %s: %s", self.path, exc)

    def on_cycle(self, report: CycleReport) -> None:
        self.write(stats_from_report(report, self._workers()))

    def close(self) -> None:
        self._stream.close()
