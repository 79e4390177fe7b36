"""SNMPv1/v2c requests over UDP on trio, with the hand-written codec instead of pysnmp.

One non-blocking UDP socket per address family, opened on first use, and one reader task per
socket that decodes every datagram and wakes the request it answers: the same request-id,
sent from the address and port that request went to, with its version and community.
Attempts re-send the same message, request-id included, so a late answer to the first one
still counts. Datagrams that do not decode, from an agent a request waits for, are remembered
per agent, so that a request that then times out reads as the malformed reply it really was;
the first is logged (community masked), the rest only counted, so a flood of garbage is not a
flood of log lines. Garbage from where no request went is logged at debug only.
"""

from __future__ import annotations

import collections
import ipaddress
import logging
import random
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import trio

from netwatch.samples import SnmpError, SnmpErrorKind
from netwatch.snmp.community_codec import (
    GET_BULK_REQUEST,
    GET_NEXT_REQUEST,
    GET_REQUEST,
    VERSION_1,
    VERSION_2C,
    MalformedMessage,
    Response,
    decode_response,
    encode_request,
)
from netwatch.snmp.hex_dump import short_hex_dump
from netwatch.snmp.target import SnmpTarget
from netwatch.snmp.trio_carrier import MAX_DATAGRAM_BYTES, SOCKET_BUFFER_BYTES

log = logging.getLogger(__name__)

PDU_TYPES = {"get": GET_REQUEST, "next": GET_NEXT_REQUEST, "bulk": GET_BULK_REQUEST}
_VERSIONS = {"1": VERSION_1, "2c": VERSION_2C}
_LARGEST_REQUEST_ID = 2**31 - 1
# Then the reader lets the other tasks run: a flood of datagrams must not stall the process.
# Far more replies than are in flight (max_concurrent_polls: 1,000), so only a flood ends a drain:
# a reader that yields during a burst of real replies lets the socket buffer overflow (the
# ICMP reader lost 98 % of 10,000 replies at 256 per turn, see icmp/pinger.py).
_DATAGRAMS_PER_TURN = 16384
# The words the pysnmp path reported, kept so that logs and status read the same.
TIMEOUT_MESSAGE = "requestTimedOut (No SNMP response received before timeout)"

Agent = tuple[str, int]  # canonical address text, port


class UndecodableReplies:
    """When each agent last sent a datagram that did not decode, why, and how many more came
    after its first, until forgotten. Pure."""

    def __init__(self) -> None:
        self._last: dict[Agent, tuple[float, str, int]] = {}

    def note(self, agent: Agent, reason: str, now: float) -> bool:
        """Remember it; True if it is the agent's first since `forget` (the one to log)."""
        seen = self._last.get(agent)
        self._last[agent] = (now, reason, 0 if seen is None else seen[2] + 1)
        return seen is None

    def forget(self, agent: Agent) -> int:
        """Forget the agent; how many undecodable datagrams came after its first."""
        seen = self._last.pop(agent, None)
        return 0 if seen is None else seen[2]

    def reason_since(self, agent: Agent, since: float) -> str | None:
        """Why the agent's last undecodable datagram did not decode, if it came at or after
        `since`."""
        seen = self._last.get(agent)
        if seen is None or seen[0] < since:
            return None
        return seen[1]


@dataclass(slots=True, eq=False)
class _Waiter:
    agent: Agent
    version: int
    community: bytes
    answered: trio.Event = field(default_factory=trio.Event)
    response: Response | None = None

    def accepts(self, response: Response, sender: Agent) -> bool:
        return (
            sender == self.agent
            and response.version == self.version
            and response.community == self.community
        )


@dataclass(slots=True, eq=False)
class _Endpoint:
    sock: socket.socket
    write_lock: trio.Lock = field(default_factory=trio.Lock)


class CommunityTransport:
    """Every SNMPv1/v2c request of one process. Start `run` in a nursery first."""

    def __init__(self) -> None:
        self._nursery: trio.Nursery | None = None
        self._endpoints: dict[int, _Endpoint] = {}
        self._waiting: dict[int, _Waiter] = {}
        self._asked: collections.Counter[Agent] = collections.Counter()
        self._next_request_id = random.randint(1, _LARGEST_REQUEST_ID)
        self._undecodable = UndecodableReplies()
        # Every community asked with, to mask them in hex dumps of undecodable replies.
        self._communities: set[bytes] = set()

    def __repr__(self) -> str:
        return f"CommunityTransport(waiting={len(self._waiting)})"

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None
            for endpoint in self._endpoints.values():
                endpoint.sock.close()
            self._endpoints.clear()

    async def request(
        self, target: SnmpTarget, kind: str, oids: Sequence[str], max_repetitions: int = 0
    ) -> Response | SnmpError:
        """One GET ("get"), GETNEXT ("next") or GETBULK ("bulk") to a v1/v2c `target`, tried
        1 + `target.retries` times, `target.timeout` seconds each."""
        if target.community is None:
            return SnmpError(
                SnmpErrorKind.TRANSPORT, f"SNMPv{target.version} target without a community"
            )
        try:
            family, destination, agent = _destination(target.address, target.port)
        except ValueError:
            return SnmpError(SnmpErrorKind.TRANSPORT, f"not an IP address: {target.address!r}")
        try:
            endpoint = self._endpoint_for(family)
        except OSError as exc:
            return SnmpError(SnmpErrorKind.TRANSPORT, f"cannot open UDP socket: {exc.strerror}")
        version = _VERSIONS[target.version]
        request_id = self._new_request_id()
        try:
            message = encode_request(
                version,
                target.community,
                request_id,
                PDU_TYPES[kind],
                oids,
                max_repetitions=max_repetitions,
            )
        except ValueError as exc:
            return SnmpError(SnmpErrorKind.MALFORMED, str(exc))
        self._communities.add(target.community)
        waiter = _Waiter(agent, version, target.community)
        self._waiting[request_id] = waiter
        self._asked[agent] += 1
        started_at = trio.current_time()
        try:
            for _attempt in range(max(0, target.retries) + 1):
                await _send(endpoint, message, destination)
                with trio.move_on_after(target.timeout):
                    await waiter.answered.wait()
                if waiter.response is not None:
                    return waiter.response
            reason = self._undecodable.reason_since(agent, started_at)
        finally:
            del self._waiting[request_id]
            self._done_asking(agent)
        if reason is not None:
            return SnmpError(
                SnmpErrorKind.MALFORMED, f"agent replied only with undecodable datagrams ({reason})"
            )
        return SnmpError(SnmpErrorKind.TIMEOUT, TIMEOUT_MESSAGE)

    def _done_asking(self, agent: Agent) -> None:
        self._asked[agent] -= 1
        if self._asked[agent]:
            return
        del self._asked[agent]
        unlogged = self._undecodable.forget(agent)
        if unlogged:
            log.warning(
                "dropped %d more undecodable SNMP replies from %s:%d", unlogged, agent[0], agent[1]
            )

    def _new_request_id(self) -> int:
        while True:
            request_id = self._next_request_id
            self._next_request_id = request_id % _LARGEST_REQUEST_ID + 1
            if request_id not in self._waiting:
                return request_id

    def _endpoint_for(self, family: int) -> _Endpoint:
        endpoint = self._endpoints.get(family)
        if endpoint is not None:
            return endpoint
        if self._nursery is None:
            raise RuntimeError("CommunityTransport.run() must be started before requests")
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER_BYTES)
            sock.bind(("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0))
        except OSError:
            sock.close()
            raise
        endpoint = self._endpoints[family] = _Endpoint(sock)
        self._nursery.start_soon(self._read_forever, sock)
        return endpoint

    async def _read_forever(self, sock: socket.socket) -> None:
        while True:
            await trio.lowlevel.wait_readable(sock)
            self._drain(sock)
            # Long bursts of replies must not starve the request tasks.
            await trio.lowlevel.checkpoint()

    def _drain(self, sock: socket.socket) -> None:
        for _ in range(_DATAGRAMS_PER_TURN):
            try:
                message, sender = sock.recvfrom(MAX_DATAGRAM_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # An ICMP error for an earlier datagram; that request times out.
                log.debug("SNMP socket receive error: %s", exc)
                return
            self._on_datagram(message, (_canonical_host(sender[0]), sender[1]))

    def _on_datagram(self, message: bytes, sender: Agent) -> None:
        try:
            response = decode_response(message)
        except MalformedMessage as exc:
            if sender not in self._asked:
                log.debug("ignored undecodable datagram from %s:%d: %s", *sender, exc)
                return
            if not self._undecodable.note(sender, str(exc), trio.current_time()):
                return
            log.warning(
                "dropped undecodable SNMP reply from %s:%d (%d bytes, %s): %s",
                sender[0],
                sender[1],
                len(message),
                exc,
                short_hex_dump(message, self._communities),
            )
            return
        waiter = self._waiting.get(response.request_id)
        if waiter is None or not waiter.accepts(response, sender):
            log.debug(
                "ignored SNMP reply from %s:%d: no request waits for it (request-id %d)",
                sender[0],
                sender[1],
                response.request_id,
            )
            return
        if waiter.response is None:
            waiter.response = response
            waiter.answered.set()


async def _send(endpoint: _Endpoint, message: bytes, destination: tuple[Any, ...]) -> None:
    while True:
        try:
            endpoint.sock.sendto(message, destination)
            return
        except BlockingIOError:
            # trio lets one task at a time wait for a socket to become writable.
            async with endpoint.write_lock:
                await trio.lowlevel.wait_writable(endpoint.sock)
        except OSError as exc:
            # Like a datagram lost on the way: this attempt times out.
            log.warning("SNMP send to %s:%d failed: %s", destination[0], destination[1], exc)
            return


@lru_cache(maxsize=65536)
def _destination(address: str, port: int) -> tuple[int, tuple[Any, ...], Agent]:
    """(address family, socket address, agent key) for a target; ValueError if `address`
    is not an IP address. An IPv6 zone (%eth0) is dropped, as the pysnmp path did."""
    host = _canonical_host(address)
    if ":" in host:
        return socket.AF_INET6, (host, port, 0, 0), (host, port)
    return socket.AF_INET, (host, port), (host, port)


@lru_cache(maxsize=65536)
def _canonical_host(address: str) -> str:
    return ipaddress.ip_address(address.split("%", 1)[0]).compressed
