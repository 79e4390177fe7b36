"""When a packet reached this host: the kernel's receive timestamp, on the caller's clock.

A reply is judged by when it arrived, not by when the reader got round to it: under load the
event loop can leave a reply in the socket buffer for most of a second (bench, 10,000 devices on
a busy 2-core machine: up to 997 ms), and an on-time reply must not turn into a lost one. Pure:
no sockets, no clock reads.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable

# Linux: SO_TIMESTAMPNS (SCM_TIMESTAMPNS) delivers a struct timespec of CLOCK_REALTIME with
# every datagram; the socket module does not export the constant.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@ll")
# Room for one SCM_TIMESTAMPNS message; see socket.CMSG_SPACE.
ANCILLARY_SIZE = socket.CMSG_SPACE(_TIMESPEC.size)

Ancillary = Iterable[tuple[int, int, bytes]]


def kernel_timestamp(ancillary: Ancillary) -> float | None:
    """The receive time (wall clock, epoch seconds) in recvmsg's ancillary data, if any."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= _TIMESPEC.size:
            seconds: int
            nanoseconds: int
            seconds, nanoseconds = _TIMESPEC.unpack_from(data)
            return seconds + nanoseconds / 1e9
    return None


def arrival_time(received_wall: float | None, now: float, wall_now: float) -> float:
    """When the packet arrived, on the clock `now` is read from (trio's).

    `received_wall` is the kernel timestamp, `wall_now` the wall clock read together with
    `now`. Without a timestamp, or when the wall clock was stepped back in between, the packet
    is taken to arrive `now`: never later than it was read.
    """
    if received_wall is None:
        return now
    return now - max(0.0, wall_now - received_wall)
