"""CPU time and peak memory of a process, from /proc (Linux, like the ICMP sockets)."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcessUsage:
    pid: int
    cpu_s: float  # user + system since it started
    max_rss_kib: int  # peak resident memory


def read_process_usage(pid: int) -> ProcessUsage | None:
    """None when the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    peak = next((line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")), "0")
    return ProcessUsage(pid, cpu_s, int(peak))


def own_usage() -> ProcessUsage:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return ProcessUsage(os.getpid(), usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def reaped_children_cpu_s() -> float:
    """CPU of child processes that have exited and been waited for (restarted workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
