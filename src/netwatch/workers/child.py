"""A poll worker: `python -m netwatch.workers.child`, started by the daemon (netwatch.workers.pool).

It reads frames on stdin (its start settings, its shard of devices, poll requests), polls with
its own Pinger, SnmpClient and Resolver (the same NetworkProber as a single-process daemon, so
a device's uptimes, detected profile and DNS answers live here), and writes answers and log
records on stdout. It exits when stdin closes: a daemon killed with -9 leaves no worker behind.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

import trio

from netwatch.gc_tuning import tune_for_polling
from netwatch.icmp import Pinger
from netwatch.icmp.matching import IdentifierPool
from netwatch.icmp.sockets import IcmpPermissionError
from netwatch.inventory import DeviceConfig
from netwatch.poller import NetworkProber
from netwatch.resolver import Resolver
from netwatch.snmp.client import SnmpClient
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

log = logging.getLogger("netwatch.worker")


class ForwardingHandler(logging.Handler):
    """Log records go to the daemon, which emits them through its own handlers and format."""

    def __init__(self, sender: FrameSender, token: trio.lowlevel.TrioToken) -> None:
        super().__init__()
        self._sender = sender
        self._token = token

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exception = None
            if record.exc_info:
                exception = logging.Formatter().formatException(record.exc_info)
            entry = LogEntry(
                record.name, record.levelno, record.getMessage(), record.created, exception
            )
            if trio.lowlevel.in_trio_run():
                self._sender.send_nowait(entry)
            else:  # a record from a worker thread: the sender belongs to trio's thread
                self._token.run_sync_soon(self._sender.send_nowait, entry)
        except Exception:
            self.handleError(record)


def forward_logs(sender: FrameSender, levels: tuple[tuple[str, int], ...]) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(ForwardingHandler(sender, trio.lowlevel.current_trio_token()))
    for name, level in levels:
        logging.getLogger(name or None).setLevel(level)


class PollServer:
    """Answers poll requests for the devices of its shard."""

    def __init__(self, prober: NetworkProber, sender: FrameSender) -> None:
        self._prober = prober
        self._sender = sender
        self._devices: dict[str, DeviceConfig] = {}
        self._gc_tuned = False

    def use(self, devices: Devices) -> None:
        self._devices = {device.id: device for device in devices.devices}
        if not self._gc_tuned:
            tune_for_polling()
            self._gc_tuned = True

    async def answer(self, poll: Poll) -> None:
        sample = None
        device = self._devices.get(poll.device_id)
        if device is not None:
            try:
                sample = await self._prober.poll(device)
            except Exception:
                # A bug in one probe must not stop the others; the device reads as unknown.
                log.exception("poll of %s failed", poll.device_id)
        self._sender.send_nowait(Answer(poll.request, sample))


async def serve(incoming: trio.abc.ReceiveStream, outgoing: trio.abc.SendStream) -> None:
    messages = receive_messages(incoming)
    start = await anext(messages, None)
    if not isinstance(start, Start):
        raise FrameError(f"expected the start settings first, got {type(start).__name__}")
    sender = FrameSender(outgoing)
    forward_logs(sender, start.log_levels)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        nursery.start_soon(beat, sender, start.heartbeat_every)
        pinger = Pinger(identifiers=IdentifierPool(start.icmp_identifier))
        try:
            await nursery.start(pinger.run)
        except IcmpPermissionError as error:
            sender.send_nowait(Refused(str(error)))
            await sender.drained()
            nursery.cancel_scope.cancel()
            return
        snmp = SnmpClient()
        await nursery.start(snmp.run)
        resolver = Resolver(cache_for=start.dns_cache)
        server = PollServer(
            NetworkProber(pinger, snmp, wall_clock=time.time, resolver=resolver), sender
        )
        sender.send_nowait(Started())
        async for message in messages:
            if isinstance(message, Poll):
                nursery.start_soon(server.answer, message)
            elif isinstance(message, Devices):
                server.use(message)
            else:
                raise FrameError(f"unexpected {type(message).__name__} from the daemon")
        nursery.cancel_scope.cancel()  # stdin closed: the daemon is gone or stopping us


async def beat(sender: FrameSender, every: float) -> None:
    while True:
        sender.send_nowait(Heartbeat())
        await trio.sleep(every)


def main() -> int:
    # The daemon decides when a worker stops (it closes stdin). A Ctrl-C in a terminal, a
    # hang-up, or systemd's SIGTERM to the whole service reach every process of it; a worker
    # that died of them first would be a spurious "worker died" in the daemon's last words.
    for stop_signal in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(stop_signal, signal.SIG_IGN)
    # Frames own the original stdout; anything printed by mistake goes to stderr instead.
    frames_out = os.dup(1)
    os.dup2(2, 1)
    try:
        trio.run(serve, trio.lowlevel.FdStream(os.dup(0)), trio.lowlevel.FdStream(frames_out))
    except* (trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the daemon went away while answers were being written: nobody to answer
    return 0


if __name__ == "__main__":
    sys.exit(main())
