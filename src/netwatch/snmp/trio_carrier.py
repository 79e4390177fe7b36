"""pysnmp's transport layer on trio: a dispatcher whose timer is a trio task, and UDP sockets.

pysnmp ships only asyncio carriers. Its engine needs three things from a carrier: a
`send_message` it can call synchronously, a callback for each received datagram, and a
periodic `handle_timer_tick` that drives request timeouts, retries and SNMPv3 time windows.
This module gives it those on trio, with one non-blocking UDP socket per address family
shared by every request.
"""

from __future__ import annotations

import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import trio
from pysnmp.carrier.base import (
    AbstractTransport,
    AbstractTransportAddress,
    AbstractTransportDispatcher,
)

log = logging.getLogger(__name__)

UDP_IPV4_DOMAIN: tuple[int, ...] = (1, 3, 6, 1, 6, 1, 1)  # snmpUDPDomain, RFC 3417
UDP_IPV6_DOMAIN: tuple[int, ...] = (1, 3, 6, 1, 2, 1, 100, 1, 2)  # transportDomainUdpIpv6

# Hundreds of replies can land between two reader wake-ups; the default (~200 KiB) drops
# some of them at 200 requests in flight.
SOCKET_BUFFER_BYTES = 4 * 1024 * 1024
MAX_DATAGRAM_BYTES = 65535
TIMER_RESOLUTION_S = 0.05

# Called after each received datagram went through the engine, with the sender's address, the
# datagram, and the exception the engine raised on it, if any.
DatagramHook = Callable[[tuple[Any, ...], bytes, BaseException | None], None]


class UdpTransportAddress(tuple, AbstractTransportAddress):  # type: ignore[type-arg,misc]
    """(host, port) as pysnmp's engine expects it: a tuple that can carry a local address."""


class Udp6TransportAddress(tuple, AbstractTransportAddress):  # type: ignore[type-arg,misc]
    """(host, port, flowinfo, scope_id) for UDP over IPv6."""


class TrioDispatcher(AbstractTransportDispatcher):  # type: ignore[misc]
    """Runs pysnmp's timer and every registered transport's reader as trio tasks."""

    def __init__(self) -> None:
        super().__init__()
        self.set_timer_resolution(TIMER_RESOLUTION_S)
        self._nursery: trio.Nursery | None = None
        self._waiting_transports: list[TrioUdpTransport] = []
        self.after_datagram: DatagramHook | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                for transport in self._waiting_transports:
                    nursery.start_soon(transport.serve)
                self._waiting_transports.clear()
                nursery.start_soon(self._drive_timer)
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            self.close_dispatcher()

    def register_transport(self, tDomain: tuple[int, ...], transport: Any) -> None:
        if not isinstance(transport, TrioUdpTransport):
            raise TypeError(f"{type(transport).__name__} does not run on trio")
        super().register_transport(tDomain, transport)
        if self._nursery is None:
            self._waiting_transports.append(transport)
        else:
            self._nursery.start_soon(transport.serve)

    def run_dispatcher(self, timeout: float = 0.0) -> None:
        raise RuntimeError("TrioDispatcher is run with `await nursery.start(dispatcher.run)`")

    def _callback_function(
        self,
        incomingTransport: Any,
        transportAddress: Any,
        incomingMessage: bytes,
    ) -> None:
        # A reply pysnmp cannot digest must cost that one datagram, never the reader task
        # that every other device's replies also arrive through.
        failure: BaseException | None = None
        try:
            super()._callback_function(incomingTransport, transportAddress, incomingMessage)
        except Exception as exc:
            failure = exc
        if self.after_datagram is not None:
            self.after_datagram(tuple(transportAddress), incomingMessage, failure)

    async def _drive_timer(self) -> None:
        while True:
            await trio.sleep(self.get_timer_resolution())
            try:
                self.handle_timer_tick(time.time())
            except Exception:
                log.exception("pysnmp timer tick failed")


class TrioUdpTransport(AbstractTransport):  # type: ignore[misc]
    """One non-blocking UDP socket shared by all requests of one address family."""

    PROTO_TRANSPORT_DISPATCHER = TrioDispatcher
    ADDRESS_TYPE: type = UdpTransportAddress
    SOCKET_FAMILY = socket.AF_INET
    ANY_ADDRESS: tuple[Any, ...] = ("0.0.0.0", 0)

    def __init__(self) -> None:
        self._socket: socket.socket | None = None
        self._unsent: deque[tuple[bytes, tuple[Any, ...]]] = deque()
        self._unsent_waiting = trio.Event()

    def open_client_mode(self, iface: tuple[Any, ...] | None = None) -> TrioUdpTransport:
        sock = socket.socket(self.SOCKET_FAMILY, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER_BYTES)
            sock.bind(iface or self.ANY_ADDRESS)
        except OSError:
            sock.close()
            raise
        self._socket = sock
        return self

    @property
    def local_address(self) -> tuple[Any, ...]:
        if self._socket is None:
            raise RuntimeError("transport is not open")
        return tuple(self._socket.getsockname())

    def close_transport(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        super().close_transport()

    def send_message(self, outgoingMessage: bytes, transportAddress: Any) -> None:
        destination = self.normalize_address(transportAddress)
        if self._unsent:
            self._unsent.append((outgoingMessage, destination))
            return
        try:
            self._send_now(outgoingMessage, destination)
        except BlockingIOError:
            self._unsent.append((outgoingMessage, destination))
            self._unsent_waiting.set()
        except OSError as exc:
            # The request then times out; pysnmp's timer owns that outcome.
            log.warning("SNMP send to %s failed: %s", destination, exc)

    def normalize_address(self, transportAddress: Any) -> tuple[Any, ...]:
        return (str(transportAddress[0]), int(transportAddress[1]))

    async def serve(self) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._flush_unsent)
            await self._read_forever()

    def _send_now(self, message: bytes, destination: tuple[Any, ...]) -> None:
        if self._socket is None:
            raise OSError("transport is closed")
        self._socket.sendto(message, destination)

    async def _read_forever(self) -> None:
        while self._socket is not None:
            await trio.lowlevel.wait_readable(self._socket)
            self._drain_socket()
            # Long bursts of replies must not starve the timer and the request tasks.
            await trio.lowlevel.checkpoint()

    def _drain_socket(self) -> None:
        while self._socket is not None:
            try:
                message, sender = self._socket.recvfrom(MAX_DATAGRAM_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # ICMP port-unreachable surfaces here on Linux; the request times out.
                log.debug("SNMP socket receive error: %s", exc)
                continue
            if self._callback_function is not None:
                self._callback_function(self, self.ADDRESS_TYPE(sender), message)

    async def _flush_unsent(self) -> None:
        while True:
            await self._unsent_waiting.wait()
            self._unsent_waiting = trio.Event()
            while self._unsent and self._socket is not None:
                await trio.lowlevel.wait_writable(self._socket)
                message, destination = self._unsent[0]
                try:
                    self._send_now(message, destination)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    log.warning("SNMP send to %s failed: %s", destination, exc)
                self._unsent.popleft()


class TrioUdp6Transport(TrioUdpTransport):
    PROTO_TRANSPORT_DISPATCHER = TrioDispatcher
    ADDRESS_TYPE = Udp6TransportAddress
    SOCKET_FAMILY = socket.AF_INET6
    ANY_ADDRESS = ("::", 0)

    def normalize_address(self, transportAddress: Any) -> tuple[Any, ...]:
        host = str(transportAddress[0]).split("%", 1)[0]
        return (host, int(transportAddress[1]), 0, 0)
