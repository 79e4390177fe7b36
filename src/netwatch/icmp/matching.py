"""Which echo request a received packet answers. Pure: no sockets, no clock, no trio.

A socket is shared by every probe in flight, so each request gets a key (identifier, sequence)
unique among outstanding requests, and a payload token unique in the process. A reply counts
only when its key is outstanding, it comes from the probed address and it echoes the token
(so a late reply to a reused sequence number, or another program's ping on a raw socket,
never counts).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum

from netwatch.icmp.packets import EchoReply, ErrorReport, Message, canonical_address
from netwatch.samples import PingResult

SEQUENCE_SPACE = 1 << 16
TOKEN_LENGTH = 16  # 8-byte per-table nonce + 8-byte request serial

RequestKey = tuple[int, int]  # (identifier, sequence)


class CapacityExhausted(Exception):
    """Not enough free sequence numbers for the requests of one more probe."""


class IdentifierPool:
    """ICMP identifiers for raw sockets, unique among the pools' users in one process."""

    def __init__(self, start: int | None = None) -> None:
        self._next = (os.getpid() if start is None else start) % SEQUENCE_SPACE
        self._in_use: set[int] = set()

    def acquire(self) -> int:
        for _ in range(SEQUENCE_SPACE):
            candidate = self._next
            self._next = (self._next + 1) % SEQUENCE_SPACE
            if candidate not in self._in_use:
                self._in_use.add(candidate)
                return candidate
        raise CapacityExhausted("all 65536 ICMP identifiers are in use in this process")

    def release(self, identifier: int) -> None:
        self._in_use.discard(identifier)


class RequestState(Enum):
    RESERVED = "reserved"  # key held, not sent yet
    WAITING = "waiting"
    ANSWERED = "answered"
    FAILED = "failed"  # an ICMP error about it arrived, or it could not be sent
    TIMED_OUT = "timed-out"


@dataclass(slots=True, eq=False)
class Request:
    key: RequestKey
    probe: Probe
    token: bytes
    index: int = 0  # position in its probe; requests are sent in this order
    state: RequestState = RequestState.RESERVED
    sent_at: float = 0.0
    # Past this instant the request has timed out: a reply arriving later is late, even if
    # nobody has looked at the request since.
    deadline: float = math.inf
    rtt_ms: float | None = None

    def finish(self, state: RequestState) -> None:
        probe = self.probe
        self.state = state
        # The probe's caller waits for its last waiting request (the latest deadline); when that
        # one ends early it must look again, at the remaining requests' deadlines.
        if probe.wake is not None and not any(
            later.state is RequestState.WAITING for later in probe.requests[self.index + 1 :]
        ):
            probe.wake()


@dataclass(slots=True, eq=False)
class Probe:
    """The N requests of one `ping()` call, and what came back for them."""

    address: str  # as the caller wrote it
    match_address: str  # canonical spelling, compared with reply sources
    requests: list[Request] = field(default_factory=list)
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    # Set by the I/O layer while the caller waits for replies; see Request.finish.
    wake: Callable[[], None] | None = None

    def waiting_until(self, now: float) -> float | None:
        """The latest deadline among requests still waiting at `now`, None if there is none."""
        latest: float | None = None
        for request in self.requests:
            if request.state is RequestState.WAITING and request.deadline > now:
                latest = request.deadline if latest is None else max(latest, request.deadline)
        return latest

    def still_waiting(self) -> bool:
        return any(request.state is RequestState.WAITING for request in self.requests)

    def note_error(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)

    def result(self) -> PingResult:
        sent = sum(1 for r in self.requests if r.state is not RequestState.RESERVED)
        rtts = tuple(r.rtt_ms for r in self.requests if r.rtt_ms is not None)
        return PingResult(
            address=self.address,
            sent=sent,
            received=len(rtts),
            rtts_ms=rtts,
            duplicates=self.duplicates,
            error="; ".join(self.errors) or None,
        )


@dataclass(slots=True)
class MatchCounters:
    """Packets that did not count, for diagnostics and benchmarks."""

    matched: int = 0
    duplicates: int = 0
    late: int = 0  # for a request that had timed out, or whose probe had finished
    foreign: int = 0  # unknown key, wrong source, wrong token


class OutstandingRequests:
    def __init__(self, identifier: int, *, nonce: bytes | None = None) -> None:
        self.identifier = identifier
        self._nonce = os.urandom(8) if nonce is None else nonce
        self._serials = itertools.count(1)
        self._next_sequence = 0
        self._requests: dict[RequestKey, Request] = {}
        self.counters = MatchCounters()

    @property
    def free_slots(self) -> int:
        return SEQUENCE_SPACE - len(self._requests)

    def __len__(self) -> int:
        return len(self._requests)

    def open_probe(self, address: str, count: int) -> Probe:
        """Reserve `count` keys at once, so a probe never holds some keys while waiting for more."""
        if count > self.free_slots:
            raise CapacityExhausted(f"{count} requests wanted, {self.free_slots} sequences free")
        probe = Probe(address=address, match_address=canonical_address(address))
        for index, sequence in enumerate(itertools.islice(self._free_sequences(), count)):
            key = (self.identifier, sequence)
            token = self._nonce + next(self._serials).to_bytes(8, "big")
            request = Request(key=key, probe=probe, token=token, index=index)
            self._requests[key] = request
            probe.requests.append(request)
        return probe

    def _free_sequences(self) -> Iterable[int]:
        # Sequences advance round-robin, so a just-released one is reused as late as possible.
        while True:
            sequence = self._next_sequence
            self._next_sequence = (sequence + 1) % SEQUENCE_SPACE
            if (self.identifier, sequence) not in self._requests:
                yield sequence

    def close_probe(self, probe: Probe) -> PingResult:
        probe.wake = None
        for request in probe.requests:
            if request.state is RequestState.WAITING:
                request.state = RequestState.TIMED_OUT
            self._requests.pop(request.key, None)
        return probe.result()

    @staticmethod
    def mark_sent(request: Request, at: float, deadline: float = math.inf) -> None:
        request.sent_at = at
        request.deadline = deadline
        request.state = RequestState.WAITING

    @staticmethod
    def mark_send_failed(request: Request, reason: str) -> None:
        request.probe.note_error(f"send failed: {reason}")
        request.finish(RequestState.FAILED)

    @staticmethod
    def mark_timed_out(request: Request) -> None:
        if request.state is RequestState.WAITING:
            request.state = RequestState.TIMED_OUT

    def handle(self, message: Message, arrived_at: float) -> Request | None:
        """Apply one received message; returns the request whose wait it ended, if any.

        `arrived_at` is when the message reached the host (the kernel's receive timestamp, on
        the clock of `mark_sent`), not when it was read: the deadline and the RTT are judged
        by it, so a reply left in the socket by a busy reader still counts."""
        if isinstance(message, EchoReply):
            return self._handle_reply(message, arrived_at)
        return self._handle_error(message, arrived_at)

    def _handle_reply(self, reply: EchoReply, arrived_at: float) -> Request | None:
        request = self._requests.get((reply.identifier, reply.sequence))
        if (
            request is None
            or request.probe.match_address != reply.source
            or not reply.payload.startswith(request.token)
        ):
            self.counters.foreign += 1
            return None
        if request.state is RequestState.WAITING and arrived_at > request.deadline:
            request.finish(RequestState.TIMED_OUT)
            self.counters.late += 1
            return None
        if request.state is RequestState.WAITING:
            request.rtt_ms = max(0.0, arrived_at - request.sent_at) * 1000.0
            self.counters.matched += 1
            request.finish(RequestState.ANSWERED)
            return request
        if request.state is RequestState.ANSWERED:
            request.probe.duplicates += 1
            self.counters.duplicates += 1
        elif request.state is RequestState.RESERVED:
            self.counters.foreign += 1
        else:
            self.counters.late += 1
        return None

    def _handle_error(self, report: ErrorReport, arrived_at: float) -> Request | None:
        request = self._requests.get((report.identifier, report.sequence))
        # Routers may quote only the 8-byte ICMP header (RFC 792), so a short quote is accepted;
        # whatever was quoted must agree with our token.
        quoted = report.quoted_payload[:TOKEN_LENGTH]
        if (
            request is None
            or request.probe.match_address != canonical_address(report.original_destination)
            or not request.token.startswith(quoted)
        ):
            self.counters.foreign += 1
            return None
        if request.state is RequestState.WAITING and arrived_at > request.deadline:
            request.finish(RequestState.TIMED_OUT)
        if request.state is not RequestState.WAITING:
            self.counters.late += 1
            return None
        request.probe.note_error(f"{report.description} (reported by {report.reporter})")
        self.counters.matched += 1
        request.finish(RequestState.FAILED)
        return request
