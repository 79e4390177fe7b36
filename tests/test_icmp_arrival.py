"""Replies are judged by when the kernel received them, not when the reader got to them: the
pure parts with tables, and real echo replies on loopback read only after the loop was blocked
past their deadline."""

from __future__ import annotations

import socket
import struct
import time

import pytest
import trio

from netwatch.icmp import Pinger
from netwatch.icmp.arrival import SO_TIMESTAMPNS, arrival_time, kernel_timestamp
from netwatch.icmp.matching import OutstandingRequests, RequestState
from netwatch.icmp.packets import EchoReply
from netwatch.samples import PingResult

TARGET = "192.0.2.7"


def timespec(seconds: int, nanoseconds: int) -> tuple[int, int, bytes]:
    return (socket.SOL_SOCKET, SO_TIMESTAMPNS, struct.pack("@ll", seconds, nanoseconds))


@pytest.mark.parametrize(
    ("ancillary", "expected"),
    [
        ([timespec(1_700_000_000, 250_000_000)], 1_700_000_000.25),
        ([(socket.SOL_IP, 11, b"\0" * 16), timespec(5, 0)], 5.0),  # after an error-queue entry
        ([(socket.SOL_IP, 11, b"\0" * 16)], None),
        ([(socket.SOL_SOCKET, SO_TIMESTAMPNS, b"\0" * 8)], None),  # truncated
        ([], None),
    ],
)
def test_kernel_timestamp_is_read_from_the_ancillary_data(
    ancillary: list[tuple[int, int, bytes]], expected: float | None
) -> None:
    assert kernel_timestamp(ancillary) == expected


@pytest.mark.parametrize(
    ("received_wall", "now", "wall_now", "expected"),
    [
        (1000.0, 50.0, 1000.0, 50.0),  # read as it arrived
        (999.2, 50.0, 1000.0, 49.2),  # waited 0.8 s in the socket
        (None, 50.0, 1000.0, 50.0),  # no timestamp: as read
        (1000.5, 50.0, 1000.0, 50.0),  # wall clock stepped back: never later than read
    ],
)
def test_arrival_is_moved_onto_the_callers_clock(
    received_wall: float | None, now: float, wall_now: float, expected: float
) -> None:
    assert arrival_time(received_wall, now, wall_now) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("arrived_at", "counted", "rtt_ms"),
    [
        (10.001, True, 1.0),
        (10.999, True, 999.0),  # however late it is read
        (11.0, True, 1000.0),  # exactly at the deadline
        (11.001, False, None),  # after it: late, whenever it is read
    ],
)
def test_a_reply_is_judged_by_its_arrival(
    arrived_at: float, counted: bool, rtt_ms: float | None
) -> None:
    table = OutstandingRequests(0x4242)
    probe = table.open_probe(TARGET, 1)
    request = probe.requests[0]
    table.mark_sent(request, 10.0, deadline=11.0)
    reply = EchoReply(TARGET, *request.key, request.token + bytes(40))
    assert (table.handle(reply, arrived_at) is request) is counted
    assert request.state is (RequestState.ANSWERED if counted else RequestState.TIMED_OUT)
    result = table.close_probe(probe)
    assert result.received == int(counted)
    assert result.rtts_ms == (() if rtt_ms is None else pytest.approx((rtt_ms,)))


class BlockAfterEachStep(trio.abc.Instrument):
    """Blocks the whole trio loop for `seconds` after every step of the tasks named `name`: an
    event loop too busy to read a reply the kernel already holds."""

    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        self.seconds = seconds
        self.blocks = 0

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        if task.name == self.name:
            self.blocks += 1
            time.sleep(self.seconds)  # on purpose: no other task may run meanwhile


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
async def test_reply_read_after_its_deadline_still_counts_when_it_arrived_in_time(
    nursery: trio.Nursery, address: str
) -> None:
    pinger = Pinger()
    await nursery.start(pinger.run)
    timeout, blocked = 0.2, 0.4
    results: list[PingResult] = []

    async def delayed_ping() -> None:
        results.append(await pinger.ping(address, count=1, timeout=timeout))

    instrument = BlockAfterEachStep("delayed-ping", blocked)
    trio.lowlevel.add_instrument(instrument)
    try:
        async with trio.open_nursery() as inner:
            inner.start_soon(delayed_ping, name="delayed-ping")
    finally:
        trio.lowlevel.remove_instrument(instrument)

    # The step that sent the request was followed by a block longer than the timeout, so the
    # reply was read past its deadline, however many steps ping() takes.
    assert instrument.blocks >= 2
    [result] = results
    assert (result.sent, result.received, result.error) == (1, 1, None)
    # The RTT is the kernel's: the time the loop was blocked is not in it.
    assert result.rtts_ms[0] < blocked * 1000
