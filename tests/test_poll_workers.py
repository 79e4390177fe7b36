"""The daemon with its polling spread over worker processes, on real parts: snmpd on loopback,
ICMP to 127.x, the workers as real child processes. What it reads equals what one process
reads; a device's state stays with its worker across cycles and reloads; a worker killed with
-9 is replaced; SIGTERM stops everything; secrets reach workers only through the pipe."""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import trio
from support.daemon_process import start_daemon, stop, wait_for_log
from support.radio import COMMUNITY as RADIO_COMMUNITY
from support.radio import ROUTING_KEY, RadioAgent
from support.snmp_agents import (
    SNMPD_COMMUNITY,
    RestartableSnmpd,
    SnmpdAgent,
    free_udp_port,
)
from support.waiting import wait_until

from netwatch.daemon import run_daemon
from netwatch.inventory import load_inventory
from netwatch.monitor import CycleReport, Monitor
from netwatch.samples import Sample
from netwatch.workers import ShardedProber, pool, shard_of

WORKER_MODULE = b"netwatch.workers.child"
SECRET_ENV = {"NW_WORKERS_COMMUNITY": RADIO_COMMUNITY, "NW_E2E_ROUTING_KEY": ROUTING_KEY}


def inventory_text(workers: int, devices: str, *, interval: str = "1s") -> str:
    return f"""
[netwatch]
interval = "{interval}"
poll_workers = {workers}
[http]
enabled = false
[defaults]
hold_down = "1h"
[defaults.ping]
timeout = "500ms"
interval = "50ms"
{devices}"""


def snmp_device(device_id: str, profile: str, port: int, community: str, **extra: str) -> str:
    lines = [f'[[devices]]\nid = "{device_id}"\naddress = "127.0.0.1"\nprofile = "{profile}"']
    lines.append(f'[devices.snmp]\nport = {port}\ncommunity = "{community}"\ntimeout = "500ms"')
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def ping_device(device_id: str, address: str) -> str:
    return f'[[devices]]\nid = "{device_id}"\naddress = "{address}"\nprofile = "ping-only"\n'


def worker_pids(parent: int) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and WORKER_MODULE in cmdline:
            pids.append(int(proc.name))
    return sorted(pids)


def worker_index(pid: int) -> int:
    """Which shard a worker polls: its number is the last word of its command line."""
    return int(Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")[-1])


def visible_to_others(pid: int) -> bytes:
    """A process's command line and environment, as /proc shows them."""
    return Path(f"/proc/{pid}/cmdline").read_bytes() + Path(f"/proc/{pid}/environ").read_bytes()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def comparable(sample: Sample) -> dict[str, Any]:
    """What a poll read, without what changes from poll to poll (times, RTTs, uptimes)."""
    out: dict[str, Any] = {}
    if sample.ping is not None:
        ping = sample.ping
        out["ping"] = (ping.address, ping.sent, ping.received, ping.error)
    if sample.snmp is not None:
        snmp = sample.snmp
        out["snmp"] = (
            str(snmp.error) if snmp.error else None,
            {name: (r.value, r.source, r.error) for name, r in snmp.metrics.items()},
            snmp.profile,
            snmp.profile_reason,
            snmp.uptime_ticks is not None,
        )
    return out


class Cycles:
    """The monitor's cycle reports, as they end."""

    def __init__(self, monitor: Monitor) -> None:
        self.reports: list[CycleReport] = []
        monitor.on_cycle(self.reports.append)

    def after(self, count: int) -> list[CycleReport]:
        return self.reports[count:]


async def read_cycles(path: Path, cycles: int) -> tuple[list[CycleReport], list[bytes]]:
    """Run the daemon on `path` until `cycles` cycles have ended: their reports, and what
    anyone on the machine sees of each poll worker (command line and environment)."""
    async with trio.open_nursery() as nursery:
        monitor = await nursery.start(run_daemon, load_inventory(path))
        seen = Cycles(monitor)
        await wait_until(lambda: len(seen.reports) >= cycles, f"{cycles} cycles")
        visible = [visible_to_others(pid) for pid in worker_pids(os.getpid())]
        nursery.cancel_scope.cancel()
    return seen.reports, visible


@pytest.fixture
def secrets_in_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    yield


async def test_two_workers_read_what_one_process_reads(
    radio_agent: RadioAgent,
    snmpd_agent: SnmpdAgent,
    tmp_path: Path,
    secrets_in_env: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="netwatch")
    devices = "".join(
        [
            *(
                snmp_device(f"radio-{n}", "airos", radio_agent.port, "env:NW_WORKERS_COMMUNITY")
                for n in "abcd"
            ),
            *(
                snmp_device(f"host-{n}", "auto", snmpd_agent.port, SNMPD_COMMUNITY.decode())
                for n in "ab"
            ),
            *(ping_device(f"switch-{n}", f"127.0.5.{n}") for n in range(1, 5)),
            snmp_device("dead-agent", "airos", free_udp_port(), "x", retries="0"),
        ]
    )
    ids = [line.split('"')[1] for line in devices.splitlines() if line.startswith("id = ")]
    assert {shard_of(device_id, 2) for device_id in ids} == {0, 1}  # both workers have work
    readings: dict[int, Mapping[str, Sample]] = {}
    for workers in (1, 2):
        path = tmp_path / f"{workers}-process" / "devices.toml"
        path.parent.mkdir()
        path.write_text(inventory_text(workers, devices))
        reports, visible = await read_cycles(path, 2)
        readings[workers] = reports[1].samples
        assert len(visible) == (0 if workers == 1 else 2)
        for seen_by_others in visible:
            assert b"PATH=" in seen_by_others  # the environment was read
            for secret in [*SECRET_ENV.values(), SNMPD_COMMUNITY.decode()]:
                assert secret.encode() not in seen_by_others

    assert set(readings[2]) == set(ids)
    assert {i: comparable(s) for i, s in readings[2].items()} == {
        i: comparable(s) for i, s in readings[1].items()
    }
    # the readings are real: values from the agents, a detected profile, a timeout
    assert readings[2]["radio-a"].snmp is not None
    assert readings[2]["radio-a"].snmp.metrics["temperature"].value == 45
    assert readings[2]["host-a"].snmp is not None and readings[2]["host-a"].snmp.profile_reason
    assert readings[2]["switch-1"].ping is not None and readings[2]["switch-1"].ping.received == 3
    dead = readings[2]["dead-agent"].snmp
    assert dead is not None and dead.error is not None and dead.error.kind.value == "timeout"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    for secret in [*SECRET_ENV.values(), SNMPD_COMMUNITY.decode()]:
        assert secret not in caplog.text


async def test_state_follows_its_device_through_a_reload_that_adds_and_removes(
    restartable_snmpd: RestartableSnmpd, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Reboots are told by each device's previous sysUpTime, kept by the worker that polls it:
    after a reload and an agent restart every device still reports its reboot, from its worker."""
    caplog.set_level(logging.INFO, logger="netwatch")
    community = SNMPD_COMMUNITY.decode()

    def host(device_id: str) -> str:
        return snmp_device(device_id, "host-resources", restartable_snmpd.port, community)

    kept = [f"host-{n}" for n in range(1, 6)]
    removed, added = "host-0", "host-9"
    assert {shard_of(d, 2) for d in kept} == {0, 1}
    path = tmp_path / "devices.toml"
    path.write_text(inventory_text(2, "".join(host(d) for d in [removed, *kept])))
    async with trio.open_nursery() as nursery:
        monitor = await nursery.start(run_daemon, load_inventory(path))
        cycles = Cycles(monitor)
        await wait_until(lambda: len(cycles.reports) >= 2, "two cycles before the reload")

        path.write_text(inventory_text(2, "".join(host(d) for d in [*kept, added])))
        os.kill(os.getpid(), signal.SIGHUP)
        await wait_until(lambda: "reloaded" in caplog.text, "the reload")
        reloaded_at = len(cycles.reports)

        def complete_after(count: int) -> list[CycleReport]:
            return [
                r
                for r in cycles.after(count)
                if set(r.samples) == {*kept, added}
                and all(s.snmp is not None and s.snmp.error is None for s in r.samples.values())
            ]

        # the added device reached the worker that owns it: only that one can poll it
        await wait_until(lambda: len(complete_after(reloaded_at)) >= 2, "two reloaded cycles")
        assert all(removed not in r.samples for r in cycles.after(reloaded_at + 1))

        restartable_snmpd.restart()
        await wait_until(
            lambda: all(f"{d}: rebooted" in caplog.text for d in [*kept, added]),
            "every device's reboot",
        )
        nursery.cancel_scope.cancel()
    reboots = [r for r in caplog.records if ": rebooted" in r.getMessage()]
    assert {r.processName for r in reboots} == {"poll-worker-0", "poll-worker-1"}
    for record in reboots:
        device_id = record.getMessage().split(":")[0]
        assert record.processName == f"poll-worker-{shard_of(device_id, 2)}"


async def test_a_worker_killed_mid_cycle_is_replaced_and_the_next_cycles_are_complete(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="netwatch")
    ids = [f"switch-{n}" for n in range(1, 9)]
    devices = "".join(ping_device(d, f"127.0.6.{n}") for n, d in enumerate(ids, 1))
    # Polls last about a second (3 echoes 0.4 s apart) of the 2 s interval: a kill right
    # after a cycle starts finds them in flight.
    devices = devices.replace(
        'profile = "ping-only"\n',
        'profile = "ping-only"\nping = { count = 3, interval = "400ms", timeout = "500ms" }\n',
    )
    path = tmp_path / "devices.toml"
    path.write_text(inventory_text(2, devices, interval="2s"))
    victim_shard = shard_of(ids[0], 2)
    victim_devices = {d for d in ids if shard_of(d, 2) == victim_shard}
    async with trio.open_nursery() as nursery:
        monitor = await nursery.start(run_daemon, load_inventory(path))
        cycles = Cycles(monitor)
        await wait_until(lambda: len(cycles.reports) >= 1, "a first cycle")
        before = worker_pids(os.getpid())
        assert len(before) == 2
        started = monitor.cycles
        await wait_until(lambda: monitor.cycles > started, "the next cycle to start")
        killed_in = monitor.cycles
        # the worker polling ids[0]: the one that has it in its shard
        victim = next(pid for pid in before if worker_index(pid) == victim_shard)
        os.kill(victim, signal.SIGKILL)
        await wait_until(lambda: len(cycles.reports) >= killed_in + 2, "two cycles after the kill")
        after = worker_pids(os.getpid())
        nursery.cancel_scope.cancel()

    killed_cycle = cycles.reports[killed_in - 1]
    assert killed_cycle.number == killed_in
    assert set(killed_cycle.samples) == set(ids) - victim_devices  # unknown, not wrong
    assert killed_cycle.late == len(victim_devices)
    assert any(
        f"poll worker {victim_shard} was killed by SIGKILL; {len(victim_devices)} poll(s) in flight"
        in r.getMessage()
        for r in caplog.records
    )
    assert set(cycles.reports[-1].samples) == set(ids)
    assert all(
        s.ping is not None and s.ping.received == 3 for s in cycles.reports[-1].samples.values()
    )
    assert victim not in after and len(after) == 2


async def test_a_hung_worker_is_killed_and_replaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="netwatch")
    monkeypatch.setattr(pool, "HEARTBEAT_EVERY", 0.2)
    monkeypatch.setattr(pool, "SILENT_FOR_LONGEST", 1.5)
    ids = [f"ap-{n}" for n in range(1, 9)]
    path = tmp_path / "devices.toml"
    devices = "".join(ping_device(d, f"127.0.7.{n}") for n, d in enumerate(ids, 1))
    path.write_text(inventory_text(2, devices))
    victim_shard = shard_of(ids[0], 2)
    async with trio.open_nursery() as nursery:
        monitor = await nursery.start(run_daemon, load_inventory(path))
        cycles = Cycles(monitor)
        await wait_until(lambda: len(cycles.reports) >= 1, "a first cycle")
        before = worker_pids(os.getpid())
        victim = next(pid for pid in before if worker_index(pid) == victim_shard)
        # Stopped, not dead: no exit for the daemon to notice, only the silence.
        os.kill(victim, signal.SIGSTOP)
        await wait_until(
            lambda: victim not in worker_pids(os.getpid()) and len(worker_pids(os.getpid())) == 2,
            "a new worker in place of the stopped one",
        )
        replaced_at = len(cycles.reports)
        await wait_until(lambda: len(cycles.reports) >= replaced_at + 2, "two cycles after")
        nursery.cancel_scope.cancel()

    messages = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith(f"poll worker {victim_shard} (pid {victim}) has said nothing for")
        for m in messages
    )
    assert any(m.startswith(f"poll worker {victim_shard} stopped answering;") for m in messages)
    assert not alive(victim)
    assert set(cycles.reports[-1].samples) == set(ids)


def test_sigterm_stops_the_daemon_and_its_workers(radio_agent: RadioAgent, tmp_path: Path) -> None:
    path = tmp_path / "devices.toml"
    path.write_text(
        inventory_text(
            2,
            "".join(
                snmp_device(f"radio-{n}", "airos", radio_agent.port, "env:NW_WORKERS_COMMUNITY")
                for n in "abcdef"
            ),
        )
    )
    process = start_daemon(path, "--log-format", "json", "-v", env=SECRET_ENV)
    try:
        wait_for_log(process, "cycle 2:")
        workers = worker_pids(process.pid)
        out, err, took = stop(process, signal.SIGTERM)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert all(json.loads(line)["message"] for line in err.splitlines())  # --log-format json
    assert "received SIGTERM, stopping" in err
    assert took < 2.0, f"took {took:.2f} s to stop"
    assert len(workers) == 2 and not any(alive(pid) for pid in workers)
    assert RADIO_COMMUNITY not in out + err


async def test_a_reload_while_a_worker_restarts_reaches_the_new_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker process starting holds here (its sitecustomize waits while the gate file
    # exists), so the reload lands between its start and its first answer.
    gate = tmp_path / "workers-wait"
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        f"import os, time\nwhile os.path.exists({str(gate)!r}):\n    time.sleep(0.02)\n"
    )
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.getenv("PYTHONPATH")]))
    )
    ids = [f"switch-{n}" for n in range(1, 12)]
    addresses = {d: f"127.0.7.{n}" for n, d in enumerate(ids, 1)}
    added = next(d for d in ids if shard_of(d, 2) == 0)
    kept = [d for d in ids if d != added]
    path = tmp_path / "devices.toml"
    path.write_text(inventory_text(2, "".join(ping_device(d, addresses[d]) for d in kept)))
    prober = ShardedProber(load_inventory(path).devices, 2, dns_cache=0.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(prober.run)
        before = {worker_index(pid): pid for pid in worker_pids(os.getpid())}
        gate.touch()
        os.kill(before[0], signal.SIGKILL)
        await wait_until(
            lambda: any(
                worker_index(pid) == 0 and pid != before[0] for pid in worker_pids(os.getpid())
            ),
            "the new worker 0",
        )
        path.write_text(inventory_text(2, "".join(ping_device(d, addresses[d]) for d in ids)))
        prober.use_inventory(load_inventory(path))
        gate.unlink()
        device = load_inventory(path).by_id()[added]
        sample = await prober.poll(device)
        nursery.cancel_scope.cancel()
    assert sample.ping is not None and sample.ping.received > 0
