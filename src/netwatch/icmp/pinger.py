"""The ICMP service under trio: one socket per address family shared by every probe, one reader
task per socket, paced sends."""

from __future__ import annotations

import contextlib
import errno
import math
import socket
import time

import trio

from netwatch.icmp.arrival import ANCILLARY_SIZE, arrival_time, kernel_timestamp
from netwatch.icmp.bpf import attach_echo_identifier_filter
from netwatch.icmp.matching import (
    TOKEN_LENGTH,
    IdentifierPool,
    MatchCounters,
    OutstandingRequests,
    Probe,
    Request,
)
from netwatch.icmp.pacing import SendPacer
from netwatch.icmp.packets import (
    Family,
    build_echo_request,
    family_of,
    parse_icmp,
    parse_queued_error,
)
from netwatch.icmp.sockets import (
    DEFAULT_RECEIVE_BUFFER,
    IP_RECVERR,
    IPV6_RECVERR,
    IcmpPermissionError,
    IcmpSocket,
    SocketKind,
    open_icmp_socket,
)
from netwatch.icmp.wakeups import WakeUpTimer
from netwatch.samples import PingResult

# 20,000 requests/s at most (about 13 Mbit/s of 64-byte echoes): 10,000 devices x 3 requests
# leave within 1.5 s, and no millisecond carries more than 20 of them.
DEFAULT_SEND_SPACING = 50e-6
PAYLOAD_LENGTH = 56  # the classic ping size: 64-byte ICMP message
RECEIVE_SIZE = 4096
# The reader drains the socket on every wake-up: it gets one turn per scheduler pass while
# thousands of senders get theirs, and reading a fixed batch per turn let the socket buffer
# overflow (bench, 10,000 targets: 256 per turn lost 98 % of replies, 8192 lost 2 %). A drain is
# bounded by the receive buffer anyway. Each packet is judged by the kernel's receive timestamp.

_identifiers = IdentifierPool()


class _Endpoint:
    """One socket, its reader's table, and the wake-up for probes waiting for free sequences."""

    def __init__(self, icmp_socket: IcmpSocket, identifier: int) -> None:
        self.icmp_socket = icmp_socket
        self.table = OutstandingRequests(identifier)
        self.slots_freed = trio.Event()
        self.slots_wanted = False
        self.closed = False

    @property
    def sock(self) -> socket.socket:
        return self.icmp_socket.sock

    def release(self, probe: Probe) -> PingResult:
        result = self.table.close_probe(probe)
        if self.slots_wanted:
            self.slots_wanted = False
            self.slots_freed.set()
            self.slots_freed = trio.Event()
        return result


class Pinger:
    """ICMP echo to IP literals (v4 and v6) for any number of concurrent callers.

    Start it in a nursery (`await nursery.start(pinger.run)`), then call `ping()` from any task.
    """

    def __init__(
        self,
        *,
        socket_kind: SocketKind = SocketKind.AUTO,
        send_spacing: float = DEFAULT_SEND_SPACING,
        receive_buffer: int = DEFAULT_RECEIVE_BUFFER,
        identifiers: IdentifierPool | None = None,
    ) -> None:
        """`identifiers`: where raw sockets take their echo identifier; processes that ping
        side by side (the poll workers) each get a pool of their own, so their requests never
        share an identifier."""
        self._identifiers = identifiers or _identifiers
        self._socket_kind = socket_kind
        self._pacer = SendPacer(send_spacing)
        self._receive_buffer = receive_buffer
        self._endpoints: dict[Family, _Endpoint] = {}
        self._unavailable: dict[Family, str] = {}
        self._timer = WakeUpTimer()
        self._running = False

    @property
    def socket_kinds(self) -> dict[Family, SocketKind]:
        return {family: e.icmp_socket.kind for family, e in self._endpoints.items()}

    @property
    def match_counters(self) -> dict[Family, MatchCounters]:
        """Packets read per socket that answered nothing of ours (foreign, late, duplicate)."""
        return {family: e.table.counters for family, e in self._endpoints.items()}

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        if self._running:
            raise RuntimeError("Pinger.run() is already running")
        self._running = True
        try:
            self._open_endpoints()
            async with trio.open_nursery() as nursery:
                await nursery.start(self._timer.run)
                for endpoint in self._endpoints.values():
                    nursery.start_soon(self._read_forever, endpoint)
                task_status.started()
        finally:
            self._close_endpoints()
            self._running = False

    def _open_endpoints(self) -> None:
        permission_errors: list[IcmpPermissionError] = []
        for family in Family:
            try:
                icmp_socket = open_icmp_socket(family, self._socket_kind, self._receive_buffer)
            except IcmpPermissionError as error:
                permission_errors.append(error)
                self._unavailable[family] = str(error)
                continue
            except OSError as error:  # e.g. IPv6 disabled on this host
                self._unavailable[family] = f"no ICMP socket for IPv{family.value}: {error}"
                continue
            identifier = icmp_socket.kernel_identifier
            if identifier is None:
                identifier = self._identifiers.acquire()
                attach_echo_identifier_filter(icmp_socket.sock, family, identifier)
            self._endpoints[family] = _Endpoint(icmp_socket, identifier)
        if not self._endpoints:
            if permission_errors:
                raise permission_errors[0]
            raise OSError("; ".join(self._unavailable.values()))

    def _close_endpoints(self) -> None:
        for endpoint in self._endpoints.values():
            endpoint.closed = True
            if endpoint.icmp_socket.kernel_identifier is None:
                self._identifiers.release(endpoint.table.identifier)
            trio.lowlevel.notify_closing(endpoint.sock)
            endpoint.icmp_socket.close()
            endpoint.slots_freed.set()
        self._endpoints.clear()
        self._unavailable.clear()

    # `timeout` is the per-request reply wait of the contract, not a deadline for the call.
    async def ping(
        self,
        address: str,
        *,
        count: int = 3,
        interval: float = 0.2,
        timeout: float = 1.0,  # noqa: ASYNC109
    ) -> PingResult:
        """Send `count` echo requests `interval` s apart; each waits up to `timeout` s for its
        reply. `address` must be an IP literal (ValueError otherwise)."""
        family = family_of(address)
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}")
        if not self._running:
            raise RuntimeError("start Pinger.run() in a nursery before calling ping()")
        endpoint = self._endpoints.get(family)
        if endpoint is None:
            reason = self._unavailable.get(family, f"IPv{family.value} ICMP unavailable")
            return PingResult(address=address, sent=0, received=0, error=reason)
        while endpoint.table.free_slots < count and not endpoint.closed:
            endpoint.slots_wanted = True
            await endpoint.slots_freed.wait()
        if endpoint.closed:
            raise trio.ClosedResourceError("the Pinger has stopped")
        probe = endpoint.table.open_probe(address, count)
        try:
            last_send = -math.inf
            for request in probe.requests:
                await self._timer.sleep_until(last_send + interval)
                await self._send(endpoint, request, timeout)
                last_send = trio.current_time()
            await self._await_replies(endpoint, probe)
        finally:
            result = endpoint.release(probe)
        return result

    async def _send(self, endpoint: _Endpoint, request: Request, reply_wait: float) -> None:
        await self._timer.sleep_until(self._pacer.next_slot(trio.current_time()))
        identifier, sequence = request.key
        payload = request.token + bytes(PAYLOAD_LENGTH - TOKEN_LENGTH)
        packet = build_echo_request(endpoint.icmp_socket.family, identifier, sequence, payload)
        while True:
            if endpoint.closed:
                raise trio.ClosedResourceError("the Pinger has stopped")
            try:
                endpoint.sock.sendto(packet, (request.probe.match_address, 0))
            except BlockingIOError:
                await trio.lowlevel.wait_writable(endpoint.sock)
                continue
            except OSError as error:
                endpoint.table.mark_send_failed(request, error.strerror or str(error))
                return
            sent_at = trio.current_time()
            endpoint.table.mark_sent(request, sent_at, deadline=sent_at + reply_wait)
            return

    async def _await_replies(self, endpoint: _Endpoint, probe: Probe) -> None:
        """Until every request is answered, failed or past its deadline. One park per probe
        (two when the last request ends before an earlier one), not one waiter per request."""
        while True:
            if endpoint.closed:
                raise trio.ClosedResourceError("the Pinger has stopped")
            latest = probe.waiting_until(trio.current_time())
            if latest is None:
                if probe.still_waiting():
                    # Before giving a request up: its reply may be in the socket, received in
                    # time but not read yet because the loop was busy (the timer and the reader
                    # become runnable together, in either order).
                    self._drain_before_timeout(endpoint)
                return
            parked = self._timer.park_handle(latest)
            probe.wake = parked.wake
            try:
                await self._timer.park(parked)
            finally:
                probe.wake = None

    async def _read_forever(self, endpoint: _Endpoint) -> None:
        while True:
            await trio.lowlevel.wait_readable(endpoint.sock)
            self._drain(endpoint)

    def _drain_before_timeout(self, endpoint: _Endpoint) -> None:
        # An error here is the reader's to raise: it meets the same one and stops the service.
        with contextlib.suppress(OSError):
            self._drain(endpoint)

    def _drain(self, endpoint: _Endpoint) -> None:
        """Handle every packet waiting in the socket and, for datagram sockets, its error queue."""
        icmp_socket = endpoint.icmp_socket
        if icmp_socket.kind is SocketKind.DGRAM:
            self._drain_error_queue(endpoint)
        while True:
            try:
                packet, ancillary, _flags, source = endpoint.sock.recvmsg(
                    RECEIVE_SIZE, ANCILLARY_SIZE
                )
            except BlockingIOError:
                break
            except OSError as error:
                # A pending socket error (datagram sockets with RECVERR) is reported once
                # by recv; its details are in the error queue.
                if error.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES):
                    self._drain_error_queue(endpoint)
                    continue
                raise
            message = parse_icmp(
                icmp_socket.family,
                packet,
                source[0],
                has_ip_header=icmp_socket.has_ip_header,
            )
            if message is not None:
                endpoint.table.handle(message, _arrived_at(ancillary))

    @staticmethod
    def _drain_error_queue(endpoint: _Endpoint) -> None:
        family = endpoint.icmp_socket.family
        level, option = (
            (socket.SOL_IP, IP_RECVERR)
            if family is Family.V4
            else (socket.IPPROTO_IPV6, IPV6_RECVERR)
        )
        while True:
            try:
                quoted, ancillary, _flags, destination = endpoint.sock.recvmsg(
                    RECEIVE_SIZE, 512, socket.MSG_ERRQUEUE
                )
            except (BlockingIOError, InterruptedError):
                return
            for cmsg_level, cmsg_type, data in ancillary:
                if (cmsg_level, cmsg_type) != (level, option):
                    continue
                report = parse_queued_error(family, data, quoted, destination[0])
                if report is not None:
                    endpoint.table.handle(report, _arrived_at(ancillary))


def _arrived_at(ancillary: list[tuple[int, int, bytes]]) -> float:
    return arrival_time(kernel_timestamp(ancillary), trio.current_time(), time.time())
