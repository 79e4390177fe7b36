"""The daemon's side of the poll workers: a Prober that hands each device to the worker process
that owns it (netwatch.workers.sharding), and keeps those processes running.

A worker that dies is logged and started again, after a pause that grows while it keeps
dying; one that sends nothing, not even its heartbeat, for SILENT_FOR_LONGEST is hung and is
killed and replaced the same way. The polls it had in flight read as unknown for that cycle
(PollLost), and polls for its devices wait for the new process, never past the cycle's
deadline (the monitor cancels them).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import trio

import netwatch
from netwatch.icmp.sockets import IcmpPermissionError
from netwatch.inventory import DeviceConfig, Inventory
from netwatch.poller import PollLost
from netwatch.samples import Sample
from netwatch.workers.channel import FrameSender, receive_messages
from netwatch.workers.framing import FrameError
from netwatch.workers.messages import (
    Answer,
    Devices,
    Heartbeat,
    LogEntry,
    Poll,
    Refused,
    Start,
    Started,
)
from netwatch.workers.sharding import shard_of, worker_identifier
from netwatch.workers.usage import ProcessUsage, read_process_usage

log = logging.getLogger("netwatch.workers")

WORKER_MODULE = "netwatch.workers.child"
FIRST_RESTART_DELAY = 0.5
MAX_RESTART_DELAY = 30.0
STABLE_AFTER = 60.0  # a worker that ran this long starts again at the first delay
STOP_GRACE = 0.5  # after its stdin closes, before a worker is killed
HEARTBEAT_EVERY = 1.0
# A worker silent this long is hung (stopped, spinning, blocked), not busy: a busy worker's
# event loop still sends its heartbeats. Its devices would be unknown for good; replace it.
SILENT_FOR_LONGEST = 15.0
# What a worker may see of the daemon's environment: nothing that could hold a secret. The
# inventory resolves "env:NAME" references in the daemon; workers get the values by pipe.
INHERITED_ENVIRONMENT = (
    "PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE",
    "PYTHONUNBUFFERED", "PYTHONDEVMODE", "PYTHONWARNINGS", "RES_OPTIONS", "LOCALDOMAIN",
    "HOSTALIASES",
)  # fmt: skip


class WorkerStartError(Exception):
    """A worker process died before it could poll: an installation problem, not a fault to
    ride out by restarting."""


def worker_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    environ = dict(os.environ) if environ is None else environ
    kept = {
        name: value
        for name, value in environ.items()
        if name in INHERITED_ENVIRONMENT or name.startswith("LC_")
    }
    # The worker imports netwatch from where the daemon did, installed or not.
    package_root = str(Path(netwatch.__file__).resolve().parent.parent)
    kept["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, kept.get("PYTHONPATH")]))
    return kept


def log_levels() -> tuple[tuple[str, int], ...]:
    """The daemon's logger levels, for the worker to drop what the daemon would not emit."""
    levels = [("", logging.getLogger().getEffectiveLevel())]
    for name, logger in logging.Logger.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            levels.append((name, logger.level))
    return tuple(levels)


def emit_worker_record(entry: LogEntry, worker: int, pid: int) -> None:
    logger = logging.getLogger(entry.name)
    if not logger.isEnabledFor(entry.level):
        return
    record = logger.makeRecord(entry.name, entry.level, "(poll worker)", 0, entry.message, (), None)
    record.created = entry.created
    record.msecs = (entry.created - int(entry.created)) * 1000
    record.exc_text = entry.exception
    record.process = pid
    record.processName = f"poll-worker-{worker}"
    logger.handle(record)


def restart_delay(previous: float | None, *, ran_for: float) -> float:
    """How long to wait before starting a worker again: doubling while it keeps dying, from
    the start again once it had run for a while."""
    if previous is None or ran_for >= STABLE_AFTER:
        return FIRST_RESTART_DELAY
    return min(previous * 2, MAX_RESTART_DELAY)


def describe_exit(returncode: int | None) -> str:
    if returncode is None:
        return "stopped answering"
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


@dataclass(eq=False)
class _Pending:
    done: trio.Event = field(default_factory=trio.Event)
    sample: Sample | None = None


@dataclass(eq=False)
class _Connection:
    """One running worker process: the pipe to it and the polls waiting for its answers."""

    process: trio.Process
    sender: FrameSender
    pending: dict[int, _Pending] = field(default_factory=dict)

    def lose_pending(self) -> int:
        lost = len(self.pending)
        for pending in self.pending.values():
            pending.done.set()
        self.pending.clear()
        return lost


class WorkerSlot:
    """Worker number `index`: its process, restarted when it dies, and its shard of devices."""

    def __init__(self, index: int, start: Start, devices: Sequence[DeviceConfig]) -> None:
        self.index = index
        self._start = start
        self._devices = Devices(tuple(devices))
        self._connection: _Connection | None = None
        self._up = trio.Event()
        self._requests = itertools.count()
        self.started = False  # it has answered at least once
        self.restarts = 0

    @property
    def pid(self) -> int | None:
        return None if self._connection is None else self._connection.process.pid

    def use(self, devices: Sequence[DeviceConfig]) -> None:
        """A new shard (after a reload): sent now if the worker runs, and to every restart."""
        self._devices = Devices(tuple(devices))
        if self._connection is not None:
            self._connection.sender.send_nowait(self._devices)

    async def poll(self, device_id: str) -> Sample:
        while self._connection is None:
            await self._up.wait()
        connection = self._connection
        request = next(self._requests)
        pending = connection.pending[request] = _Pending()
        connection.sender.send_nowait(Poll(request, device_id))
        try:
            await pending.done.wait()
        finally:
            connection.pending.pop(request, None)
        if pending.sample is None:
            raise PollLost(device_id)
        return pending.sample

    async def supervise(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Run the worker for good: started() once it first answers; a refusal (no ICMP
        permission) at the first start stops the daemon, as it would without workers."""
        delay: float | None = None
        while True:
            began = trio.current_time()
            try:
                returncode, lost = await self._run_once(None if self.started else task_status)
            except IcmpPermissionError as refused:
                if not self.started:
                    raise
                returncode, lost = None, 0
                log.error("poll worker %d cannot poll: %s", self.index, refused)
            if not self.started:
                raise WorkerStartError(
                    f"poll worker {self.index} {describe_exit(returncode)} before it started"
                    " (its error output is above)"
                )
            delay = restart_delay(delay, ran_for=trio.current_time() - began)
            log.error(
                "poll worker %d %s; %d poll(s) in flight read as unknown; restarting in %.1f s",
                self.index,
                describe_exit(returncode),
                lost,
                delay,
            )
            self.restarts += 1
            await trio.sleep(delay)

    async def _run_once(self, task_status: trio.TaskStatus[None] | None) -> tuple[int | None, int]:
        process = await trio.lowlevel.open_process(
            # the number only tells people (ps, top) which worker is which
            [sys.executable, "-m", WORKER_MODULE, str(self.index)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=worker_environment(),
        )
        assert process.stdin is not None and process.stdout is not None
        connection = _Connection(process, FrameSender(process.stdin))
        refusal: str | None = None
        hung = False
        last_heard = trio.current_time()

        async def watch_for_silence() -> None:
            nonlocal hung
            while True:
                await trio.sleep(min(HEARTBEAT_EVERY, SILENT_FOR_LONGEST))
                silent_for = trio.current_time() - last_heard
                if silent_for > SILENT_FOR_LONGEST:
                    break
            hung = True
            log.error(
                "poll worker %d (pid %d) has said nothing for %.0f s; killing it",
                self.index,
                process.pid,
                silent_for,
            )
            process.kill()  # its reader then sees the end of its output

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_send_until_broken, connection.sender)
                nursery.start_soon(watch_for_silence)
                connection.sender.send_nowait(self._start)
                sent = self._devices
                connection.sender.send_nowait(sent)
                try:
                    async for message in receive_messages(process.stdout):
                        last_heard = trio.current_time()
                        if isinstance(message, Heartbeat):
                            continue
                        if isinstance(message, Answer):
                            pending = connection.pending.get(message.request)
                            if pending is not None:
                                pending.sample = message.sample
                                pending.done.set()
                        elif isinstance(message, LogEntry):
                            emit_worker_record(message, self.index, process.pid)
                        elif isinstance(message, Started):
                            log.info(
                                "poll worker %d started (pid %d): %d devices",
                                self.index,
                                process.pid,
                                len(self._devices.devices),
                            )
                            if self._devices is not sent:  # a reload while it started
                                connection.sender.send_nowait(self._devices)
                            self._connection = connection
                            self._up.set()
                            self._up = trio.Event()
                            self.started = True
                            if task_status is not None:
                                task_status.started()
                                task_status = None
                        elif isinstance(message, Refused):
                            refusal = message.reason
                            break
                except FrameError as error:
                    log.error("poll worker %d sent garbage: %s", self.index, error)
                nursery.cancel_scope.cancel()
        finally:
            if self._connection is connection:
                self._connection = None
            lost = connection.lose_pending()
            with trio.CancelScope(shield=True):
                await _stop(process)
        if refusal is not None:
            raise IcmpPermissionError(refusal)
        return (None if hung else process.returncode), lost

    def usage(self) -> ProcessUsage | None:
        pid = self.pid
        return None if pid is None else read_process_usage(pid)


async def _send_until_broken(sender: FrameSender) -> None:
    # A worker that died cannot be written to; its reader sees the end and reports it.
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await sender.run()


async def _stop(process: trio.Process) -> None:
    """Close its stdin (a worker exits on EOF); kill it if it does not exit promptly."""
    if process.stdin is not None:
        await process.stdin.aclose()
    with trio.move_on_after(STOP_GRACE):
        await process.wait()
    if process.returncode is None:
        process.kill()
        await process.wait()
    if process.stdout is not None:
        await process.stdout.aclose()


class ShardedProber:
    """A Prober over `workers` processes, each polling the devices whose id hashes to it."""

    def __init__(self, devices: Sequence[DeviceConfig], workers: int, *, dns_cache: float) -> None:
        if workers < 2:
            raise ValueError("sharding needs at least two workers")
        levels = log_levels()
        base = os.getpid()
        shards = self._shards(devices, workers)
        self.slots = [
            WorkerSlot(
                index,
                Start(index, dns_cache, worker_identifier(base, index), levels, HEARTBEAT_EVERY),
                shards[index],
            )
            for index in range(workers)
        ]

    @staticmethod
    def _shards(devices: Sequence[DeviceConfig], workers: int) -> list[list[DeviceConfig]]:
        shards: list[list[DeviceConfig]] = [[] for _ in range(workers)]
        for device in devices:
            if device.enabled:
                shards[shard_of(device.id, workers)].append(device)
        return shards

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start every worker; started() when all of them answer."""
        async with trio.open_nursery() as nursery:
            async with trio.open_nursery() as starting:
                for slot in self.slots:
                    starting.start_soon(nursery.start, slot.supervise)
            log.info("polling with %d worker processes", len(self.slots))
            task_status.started()

    def use_inventory(self, inventory: Inventory) -> None:
        """The devices of a reloaded inventory, each to the worker that owns its id."""
        devices = inventory.devices
        for slot, shard in zip(self.slots, self._shards(devices, len(self.slots)), strict=True):
            slot.use(shard)

    async def poll(self, device: DeviceConfig) -> Sample:
        return await self.slots[shard_of(device.id, len(self.slots))].poll(device.id)

    def usage(self) -> list[ProcessUsage]:
        """CPU and peak memory of the workers running now."""
        return [usage for slot in self.slots if (usage := slot.usage()) is not None]
