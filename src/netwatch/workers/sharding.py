"""Which poll worker owns a device, and how many workers to run. Pure.

A device's state (uptimes, the detected profile, learnt GET sizes, DNS answers) lives in the
worker that polls it, so the owner must be the same on every cycle, after a reload and after a
restart: a stable hash of the id (Python's `hash()` of a str changes with every process).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable
from typing import Literal

from netwatch.inventory import DeviceConfig

AUTO: Literal["auto"] = "auto"
# Measured (bench/isp_cycle.py, 2 CPUs, 3 pings + one GET each, SNMP codec of e4b3637): one
# process polls 50,000 v2c devices a minute in 25 s with 21 CPU s per cycle (0.42 ms per poll)
# and 667 MB; two workers take as long (max_concurrent_polls bounds it) with 31-32 CPU s and
# 926 MB. An SNMPv3 authPriv poll costs ~1.8 ms. Workers cost more in all (pipes, a copy of
# every echo reply per worker, 167 MB each at 25,000 devices), so one process polls as long as
# it stays under half a core: up to 1,000 v2c polls/s (60,000 devices a minute), a v3 poll
# counting as 4. Past that, one worker per 1,000.
POLLS_PER_S_PER_WORKER = 1000.0
V3_POLL_COST = 4.0  # in v2c polls
MAX_AUTO_WORKERS = 8  # each costs 60+ MB of its own; more are a choice to write down


def poll_rate(devices: Iterable[DeviceConfig], interval: float) -> float:
    """The polls per second an inventory asks for, in v2c polls (what one costs in CPU)."""
    cost = 0.0
    for device in devices:
        if not device.enabled:
            continue
        v3 = device.uses_snmp and device.snmp is not None and device.snmp.version == "3"
        cost += V3_POLL_COST if v3 else 1.0
    return cost / interval


def shard_of(device_id: str, shards: int) -> int:
    """The worker (0 .. shards-1) that polls `device_id`; the same in every process and run."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    return zlib.crc32(device_id.encode()) % shards


def worker_count(setting: int | Literal["auto"], *, polls_per_s: float, cpus: int) -> int:
    """How many poll workers to run; 1 means none: the daemon polls in its own process.

    `setting` is `poll_workers` from [netwatch]: a number forces it, "auto" decides by the poll
    rate the inventory asks for (`poll_rate`) and the CPUs this process may use."""
    if setting != AUTO:
        return setting
    wanted = math.ceil(polls_per_s / POLLS_PER_S_PER_WORKER)
    if wanted <= 1 or cpus <= 1:
        return 1
    return max(2, min(wanted, cpus, MAX_AUTO_WORKERS))


IDENTIFIERS_PER_WORKER = 2  # one raw ICMP socket per address family


def worker_identifier(base: int, worker: int) -> int:
    """The first ICMP echo identifier of `worker`'s raw sockets: workers of one daemon never
    share one (every raw socket receives every echo reply; replies are told apart by it)."""
    return (base + IDENTIFIERS_PER_WORKER * (worker + 1)) % (1 << 16)
