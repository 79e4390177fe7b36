"""Which poll worker owns a device, and how many workers to run. Pure.

A device's state (uptimes, the detected profile, learnt GET sizes, DNS answers) lives in the
worker that polls it, so the owner must be the same on every cycle, after a reload and after a
restart: a stable hash of the id (Python's `hash()` of a str changes with every process).
"""

from __future__ import annotations

import math
import zlib
from typing import Literal

AUTO: Literal["auto"] = "auto"
MAX_WORKERS = 64
# One process sustains about 600 device-polls/s with its core saturated (v2c, 3 pings + one
# GET: ~1.6 CPU ms each). Past 250 polls/s (15,000 devices a minute) a single process leaves too
# little headroom for slow cycles, so the daemon splits the polling; below it, one process is
# cheaper (no pipes, no copies of every echo reply). bench/isp_cycle.py measures both sides.
POLLS_PER_S_PER_WORKER = 250.0
MAX_AUTO_WORKERS = 8  # each worker costs tens of MB; eight cover 100,000 devices a minute


def shard_of(device_id: str, shards: int) -> int:
    """The worker (0 .. shards-1) that polls `device_id`; the same in every process and run."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    return zlib.crc32(device_id.encode()) % shards


def worker_count(
    setting: int | Literal["auto"], *, enabled_devices: int, interval: float, cpus: int
) -> int:
    """How many poll workers to run; 1 means none: the daemon polls in its own process.

    `setting` is `poll_workers` from [netwatch]: a number forces it, "auto" decides by the poll
    rate the inventory asks for and the CPUs this process may use."""
    if setting != AUTO:
        return setting
    polls_per_s = enabled_devices / interval
    wanted = math.ceil(polls_per_s / POLLS_PER_S_PER_WORKER)
    if wanted <= 1 or cpus <= 1:
        return 1
    return max(2, min(wanted, cpus, MAX_AUTO_WORKERS))


IDENTIFIERS_PER_WORKER = 2  # one raw ICMP socket per address family


def worker_identifier(base: int, worker: int) -> int:
    """The first ICMP echo identifier of `worker`'s raw sockets: workers of one daemon never
    share one (every raw socket receives every echo reply; replies are told apart by it)."""
    return (base + IDENTIFIERS_PER_WORKER * (worker + 1)) % (1 << 16)
