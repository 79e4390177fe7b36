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
# Measured (bench/isp_cycle.py, 2 CPUs, v2c, 3 pings + one GET each): one process polls 10,000
# devices in 10.5 s with 9.2 CPU s, so it saturates its core near 1,000 polls/s; two workers
# poll the same in 7.5 s but with 12 % more CPU and 140 MB more memory, and 50,000 devices in
# 45 s. Up to 250 polls/s (15,000 devices a minute) one process stays under a quarter of its
# reach, with room for slow cycles (timeouts, retries), and is the cheaper choice; past that the
# daemon spreads the polling over processes.
POLLS_PER_S_PER_WORKER = 250.0
MAX_AUTO_WORKERS = 8  # each costs 60+ MB of its own; more are a choice to write down


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
