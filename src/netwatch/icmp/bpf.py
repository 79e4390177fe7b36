"""A socket filter for raw ICMP sockets: echo replies carrying another identifier are dropped
by the kernel. Every raw ICMP socket receives a copy of every reply the host gets; with several
poll workers pinging, each would otherwise read and discard the others' replies.

Error messages (unreachable, time exceeded) still pass: they quote the request deeper in the
packet, and the matching table checks them.
"""

from __future__ import annotations

import ctypes
import socket
import struct

from netwatch.icmp.packets import ICMPV4_ECHO_REPLY, ICMPV6_ECHO_REPLY, Family

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
_INSTRUCTION = struct.Struct("=HBBI")  # struct sock_filter: code, jt, jf, k

# Classic BPF opcodes (linux/filter.h).
_LDX_B_MSH = 0xB1  # x = 4 * (packet[k] & 0x0f): the IPv4 header length
_LD_B_IND = 0x50  # a = packet[x + k], one byte
_LD_H_IND = 0x48  # a = packet[x + k], two bytes, network order
_LDX_IMM = 0x01  # x = k
_JEQ_K = 0x15  # if a == k: skip jt else skip jf
_RET_K = 0x06
_ACCEPT = 0xFFFFFFFF
_DROP = 0


def echo_identifier_filter(family: Family, identifier: int) -> list[tuple[int, int, int, int]]:
    """The filter program: pass everything but echo replies whose identifier is not ours.

    An IPv4 raw socket sees the IP header first; an IPv6 one starts at the ICMPv6 header."""
    if family is Family.V4:
        find_icmp = (_LDX_B_MSH, 0, 0, 0)
        echo_reply = ICMPV4_ECHO_REPLY
    else:
        find_icmp = (_LDX_IMM, 0, 0, 0)
        echo_reply = ICMPV6_ECHO_REPLY
    return [
        find_icmp,
        (_LD_B_IND, 0, 0, 0),  # the ICMP type
        (_JEQ_K, 0, 3, echo_reply),  # not an echo reply: accept
        (_LD_H_IND, 0, 0, 4),  # the echo identifier
        (_JEQ_K, 1, 0, identifier),
        (_RET_K, 0, 0, _DROP),
        (_RET_K, 0, 0, _ACCEPT),
    ]


def attach_echo_identifier_filter(sock: socket.socket, family: Family, identifier: int) -> None:
    """Attach the filter to a socket that has sent nothing yet, and drop what it holds."""
    program = echo_identifier_filter(family, identifier)
    code = b"".join(_INSTRUCTION.pack(*instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; }, native alignment
    fprog = struct.pack("@HP", len(program), ctypes.addressof(buffer))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    # Whatever arrived between socket() and the filter went past it: anyone's replies.
    # Nothing of ours can be among them, the socket has not sent anything yet.
    while True:
        try:
            sock.recv(65535, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return
