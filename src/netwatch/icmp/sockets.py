"""Opening the ICMP sockets with icmplib: raw when permitted, else unprivileged datagram ICMP."""

from __future__ import annotations

import errno
import os
import socket
import struct
import sys
from dataclasses import dataclass
from enum import Enum

from icmplib import ICMPv4Socket, ICMPv6Socket
from icmplib.exceptions import ICMPSocketError, SocketPermissionError
from icmplib.sockets import ICMPSocket

from netwatch.icmp.arrival import SO_TIMESTAMPNS
from netwatch.icmp.packets import (
    ICMPV4_DEST_UNREACHABLE,
    ICMPV4_ECHO_REPLY,
    ICMPV4_PARAMETER_PROBLEM,
    ICMPV4_TIME_EXCEEDED,
    ICMPV6_DEST_UNREACHABLE,
    ICMPV6_ECHO_REPLY,
    ICMPV6_PACKET_TOO_BIG,
    ICMPV6_PARAMETER_PROBLEM,
    ICMPV6_TIME_EXCEEDED,
    Family,
)

# Linux constants the socket module does not export.
SOL_RAW = 255
ICMP_FILTER = 1
ICMP6_FILTER = 1
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)

_WANTED_ICMPV4 = (ICMPV4_ECHO_REPLY, ICMPV4_DEST_UNREACHABLE, ICMPV4_TIME_EXCEEDED,
                  ICMPV4_PARAMETER_PROBLEM)  # fmt: skip
_WANTED_ICMPV6 = (ICMPV6_ECHO_REPLY, ICMPV6_DEST_UNREACHABLE, ICMPV6_PACKET_TOO_BIG,
                  ICMPV6_TIME_EXCEEDED, ICMPV6_PARAMETER_PROBLEM)  # fmt: skip

DEFAULT_RECEIVE_BUFFER = 4 * 1024 * 1024


class SocketKind(Enum):
    AUTO = "auto"  # raw if permitted, else datagram
    RAW = "raw"
    DGRAM = "dgram"


class IcmpPermissionError(PermissionError):
    """Neither a raw nor an unprivileged datagram ICMP socket may be opened by this process."""


@dataclass(frozen=True, slots=True)
class IcmpSocket:
    # icmplib's socket object: it owns `sock` and closes it when collected, so it lives here.
    opened: ICMPSocket
    family: Family
    kind: SocketKind
    # The kernel rewrites the identifier of datagram ICMP echo requests to the socket's "port".
    kernel_identifier: int | None

    @property
    def sock(self) -> socket.socket:
        sock: socket.socket = self.opened.sock
        return sock

    def close(self) -> None:
        self.opened.close()

    @property
    def has_ip_header(self) -> bool:
        return self.kind is SocketKind.RAW and self.family is Family.V4


def open_icmp_socket(
    family: Family, kind: SocketKind, receive_buffer: int = DEFAULT_RECEIVE_BUFFER
) -> IcmpSocket:
    """Open a non-blocking ICMP socket. IcmpPermissionError says how to grant access;
    other OSErrors (e.g. IPv6 disabled) propagate."""
    icmplib_socket = ICMPv4Socket if family is Family.V4 else ICMPv6Socket
    failures: list[str] = []
    for candidate in (SocketKind.RAW, SocketKind.DGRAM):
        if kind not in (SocketKind.AUTO, candidate):
            continue
        try:
            # icmplib opens the socket and tells a missing privilege from other failures; from
            # then on we drive its socket ourselves (one socket for every probe, under trio).
            opened = icmplib_socket(privileged=candidate is SocketKind.RAW)
        except SocketPermissionError:
            failures.append(f"{candidate.value}: {os.strerror(errno.EPERM)}")
            continue
        except ICMPSocketError as error:  # e.g. IPv6 disabled on this host
            raise OSError(errno.EAFNOSUPPORT, str(error)) from None
        try:
            return _configure(opened, family, candidate, receive_buffer)
        except BaseException:
            opened.close()
            raise
    raise IcmpPermissionError(permission_advice(family, failures))


def permission_advice(family: Family, failures: list[str]) -> str:
    python = os.path.realpath(sys.executable)
    group_range = _read_proc("/proc/sys/net/ipv4/ping_group_range")
    return (
        f"cannot open an ICMP{'v6' if family is Family.V6 else ''} socket "
        f"({'; '.join(failures)}). Raw ICMP sockets need root or CAP_NET_RAW, and unprivileged "
        f"datagram ICMP sockets need this process's group id ({os.getgid()}) inside "
        f"net.ipv4.ping_group_range (now {group_range!r}). Fix one of: "
        f"`sudo setcap cap_net_raw+ep {python}` or "
        '`sudo sysctl -w net.ipv4.ping_group_range="0 2147483647"`.'
    )


def _read_proc(path: str) -> str:
    try:
        with open(path) as file:
            return " ".join(file.read().split())
    except OSError:
        return "unknown"


def _configure(
    opened: ICMPSocket, family: Family, kind: SocketKind, receive_buffer: int
) -> IcmpSocket:
    sock: socket.socket = opened.sock
    sock.setblocking(False)
    _enlarge_receive_buffer(sock, receive_buffer)
    # Replies are judged by when the kernel received them, not when the reader got to them.
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    kernel_identifier: int | None = None
    if kind is SocketKind.RAW:
        _install_type_filter(sock, family)
    else:
        # Unconnected datagram ICMP sockets drop ICMP errors unless RECVERR queues them.
        if family is Family.V4:
            sock.setsockopt(socket.SOL_IP, IP_RECVERR, 1)
            sock.bind(("0.0.0.0", 0))
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
            sock.bind(("::", 0))
        kernel_identifier = sock.getsockname()[1]
    return IcmpSocket(opened, family, kind, kernel_identifier)


def _enlarge_receive_buffer(sock: socket.socket, size: int) -> None:
    # SO_RCVBUF is capped by net.core.rmem_max (often 208 KiB); with CAP_NET_ADMIN the FORCE
    # variant is not, and thousands of replies arriving together need the room.
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, size)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def _install_type_filter(sock: socket.socket, family: Family) -> None:
    # A raw socket sees every ICMP message the host receives, including our own echo requests
    # looping back on `lo`; the kernel filter drops everything we do not parse. Bits set = drop.
    if family is Family.V4:
        blocked = 0xFFFFFFFF
        for icmp_type in _WANTED_ICMPV4:
            blocked &= ~(1 << icmp_type)
        sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("=I", blocked))
    else:
        words = [0xFFFFFFFF] * 8
        for icmp_type in _WANTED_ICMPV6:
            words[icmp_type >> 5] &= ~(1 << (icmp_type & 31))
        sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *words))
