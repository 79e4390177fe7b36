"""Ping N loopback targets (127.x.y.z) x 3 probes with netwatch's Pinger and with fping.

Reports wall time, CPU seconds per 1,000 probes and replies lost. Loopback only. With raw
sockets it also reports what a second Pinger in another process (a poll worker next to the one
pinging) pays for the copies of the echo replies it receives and drops: every raw ICMP socket
gets every reply.
Usage: .venv/bin/python bench/icmp_bench.py [N ...]   (default: 1000 10000)
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import trio

from netwatch.icmp import Pinger
from netwatch.samples import PingResult

COUNT = 3
INTERVAL = 0.2
TIMEOUT = 1.0


def loopback_targets(n: int) -> list[str]:
    return [f"127.{1 + i // 62500}.{(i // 250) % 250}.{1 + i % 250}" for i in range(n)]


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


async def run_pinger(targets: list[str]) -> list[PingResult]:
    pinger = Pinger()
    results: list[PingResult] = []

    async def probe(address: str) -> None:
        results.append(await pinger.ping(address, count=COUNT, interval=INTERVAL, timeout=TIMEOUT))

    async with trio.open_nursery() as nursery:
        await nursery.start(pinger.run)
        async with trio.open_nursery() as probes:
            for address in targets:
                probes.start_soon(probe, address)
        nursery.cancel_scope.cancel()
    return results


def bench_netwatch(targets: list[str]) -> tuple[float, float, int]:
    cpu_before, wall_before = cpu_seconds(resource.RUSAGE_SELF), time.monotonic()
    results = trio.run(run_pinger, targets)
    wall = time.monotonic() - wall_before
    cpu = cpu_seconds(resource.RUSAGE_SELF) - cpu_before
    lost = sum(r.sent - r.received for r in results)
    return wall, cpu, lost


def bench_fping(targets: list[str]) -> tuple[float, float, int]:
    cpu_before, wall_before = cpu_seconds(resource.RUSAGE_CHILDREN), time.monotonic()
    completed = subprocess.run(
        ["fping", "-q", "-C", str(COUNT), "-p", str(int(INTERVAL * 1000)),
         "-t", str(int(TIMEOUT * 1000)), "-i", "1", *targets],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.monotonic() - wall_before
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu_before
    # -C output (stderr): "address : rtt rtt -" with "-" for each lost reply.
    lost = sum(line.split(":", 1)[1].split().count("-") for line in completed.stderr.splitlines())
    return wall, cpu, lost


BYSTANDER = """
import trio
from netwatch.icmp import Pinger

async def main():
    async with trio.open_nursery() as nursery:
        await nursery.start(Pinger().run)
        print("ready", flush=True)

trio.run(main)
"""
IDLE_WINDOW_S = 5.0


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_bystander(targets: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) a second, idle Pinger spends on the replies to someone else's probes,
    its idle cost over the same time subtracted."""
    bystander = subprocess.Popen(
        [sys.executable, "-c", BYSTANDER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert bystander.stdout is not None and bystander.stdout.readline() == "ready\n"
        idle_start = process_cpu_s(bystander.pid)
        time.sleep(IDLE_WINDOW_S)
        busy_start = process_cpu_s(bystander.pid)
        wall, _cpu, _lost = bench_netwatch(targets)
        busy = process_cpu_s(bystander.pid) - busy_start
    finally:
        bystander.kill()
        bystander.wait()
    idle_per_s = (busy_start - idle_start) / IDLE_WINDOW_S
    return wall, max(0.0, busy - idle_per_s * wall)


def main(sizes: list[int]) -> None:
    print(f"{'tool':<9}{'targets':>8}{'probes':>8}{'wall s':>9}{'CPU s/1k probes':>17}{'lost':>7}")
    for n in sizes:
        targets = loopback_targets(n)
        probes = n * COUNT
        for tool, bench in (("netwatch", bench_netwatch), ("fping", bench_fping)):
            wall, cpu, lost = bench(targets)
            print(f"{tool:<9}{n:>8}{probes:>8}{wall:>9.2f}{cpu / probes * 1000:>17.3f}{lost:>7}")
        if os.geteuid() == 0:  # raw sockets: the bystander sees every reply
            wall, cpu = bench_bystander(targets)
            print(
                f"{'bystander':<9}{n:>8}{probes:>8}{wall:>9.2f}{cpu / probes * 1000:>17.3f}{'-':>7}"
            )


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [1000, 10_000])
