"""ICMP echo packets as bytes: building requests and reading what comes back. Pure, no sockets.

icmplib exposes packet building and parsing only as private methods of its socket classes,
and its parser assumes a 20-byte IPv4 header and drops the quoted original destination, which
we need to tie an ICMP error to the probe that caused it. The echo header is 8 bytes, so it is
built and read here with `struct`.
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from dataclasses import dataclass
from enum import Enum

ECHO_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence

ICMPV4_ECHO_REPLY = 0
ICMPV4_DEST_UNREACHABLE = 3
ICMPV4_ECHO_REQUEST = 8
ICMPV4_TIME_EXCEEDED = 11
ICMPV4_PARAMETER_PROBLEM = 12

ICMPV6_DEST_UNREACHABLE = 1
ICMPV6_PACKET_TOO_BIG = 2
ICMPV6_TIME_EXCEEDED = 3
ICMPV6_PARAMETER_PROBLEM = 4
ICMPV6_ECHO_REQUEST = 128
ICMPV6_ECHO_REPLY = 129

IPPROTO_ICMP = 1
IPPROTO_ICMPV6 = 58
IPV6_HEADER_LENGTH = 40

_ICMPV4_UNREACHABLE_CODES = {
    0: "network unreachable",
    1: "host unreachable",
    2: "protocol unreachable",
    3: "port unreachable",
    4: "fragmentation needed",
    5: "source route failed",
    6: "destination network unknown",
    7: "destination host unknown",
    9: "network administratively prohibited",
    10: "host administratively prohibited",
    11: "network unreachable for TOS",
    12: "host unreachable for TOS",
    13: "communication administratively prohibited",
}
_ICMPV6_UNREACHABLE_CODES = {
    0: "no route to destination",
    1: "communication administratively prohibited",
    2: "beyond scope of source address",
    3: "address unreachable",
    4: "port unreachable",
    5: "source address failed ingress/egress policy",
    6: "reject route to destination",
}


class Family(Enum):
    V4 = 4
    V6 = 6


@dataclass(frozen=True, slots=True)
class EchoReply:
    source: str
    identifier: int
    sequence: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class ErrorReport:
    """An ICMP error quoting one of our echo requests."""

    reporter: str  # the router (or host) that sent the error
    description: str  # "host unreachable", "TTL exceeded in transit", ...
    original_destination: str
    identifier: int
    sequence: int
    quoted_payload: bytes  # what the router quoted of our payload; may be truncated or empty


Message = EchoReply | ErrorReport


def family_of(address: str) -> Family:
    """The family of an IP literal; ValueError for anything else (hostnames included)."""
    return Family.V4 if ipaddress.ip_address(address).version == 4 else Family.V6


# Called for every received packet; the set of addresses we talk to is small and stable.
@functools.lru_cache(maxsize=1 << 16)
def canonical_address(address: str) -> str:
    """One spelling per address, so '::0001' and '::1' compare equal; drops a '%scope'."""
    return str(ipaddress.ip_address(address.split("%", 1)[0]))


def internet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_echo_request(family: Family, identifier: int, sequence: int, payload: bytes) -> bytes:
    """An ICMP (v4) or ICMPv6 echo request. The kernel fills the ICMPv6 checksum itself,
    because it covers a pseudo-header with the source address we do not choose."""
    if family is Family.V6:
        return ECHO_HEADER.pack(ICMPV6_ECHO_REQUEST, 0, 0, identifier, sequence) + payload
    unsummed = ECHO_HEADER.pack(ICMPV4_ECHO_REQUEST, 0, 0, identifier, sequence) + payload
    checksum = internet_checksum(unsummed)
    return ECHO_HEADER.pack(ICMPV4_ECHO_REQUEST, 0, checksum, identifier, sequence) + payload


def parse_icmp(
    family: Family, packet: bytes, source: str, *, has_ip_header: bool
) -> Message | None:
    """Read one received datagram; None when it is not an echo reply or an error about an echo
    request. `has_ip_header` is true only for raw IPv4 sockets: Linux strips the IPv6 header,
    and datagram ICMP sockets deliver the ICMP message alone."""
    if has_ip_header:
        stripped = _strip_ipv4_header(packet, want_protocol=IPPROTO_ICMP)
        if stripped is None:
            return None
        packet = stripped
    if len(packet) < ECHO_HEADER.size:
        return None
    icmp_type, code, _checksum, identifier, sequence = ECHO_HEADER.unpack_from(packet)
    source = canonical_address(source)
    if family is Family.V4:
        if icmp_type == ICMPV4_ECHO_REPLY:
            return EchoReply(source, identifier, sequence, packet[ECHO_HEADER.size :])
        description = _describe_icmpv4_error(icmp_type, code)
    else:
        if icmp_type == ICMPV6_ECHO_REPLY:
            return EchoReply(source, identifier, sequence, packet[ECHO_HEADER.size :])
        description = _describe_icmpv6_error(icmp_type, code)
    if description is None:
        return None
    # Errors carry 4 unused/MTU/pointer bytes after type, code and checksum, then our packet.
    return _parse_quoted_echo(family, packet[8:], reporter=source, description=description)


def _strip_ipv4_header(packet: bytes, *, want_protocol: int) -> bytes | None:
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    header_length = (packet[0] & 0x0F) * 4
    if header_length < 20 or len(packet) < header_length or packet[9] != want_protocol:
        return None
    return packet[header_length:]


def _parse_quoted_echo(
    family: Family, quoted: bytes, *, reporter: str, description: str
) -> ErrorReport | None:
    if family is Family.V4:
        if len(quoted) < 20:
            return None
        destination = str(ipaddress.IPv4Address(quoted[16:20]))
        inner = _strip_ipv4_header(quoted, want_protocol=IPPROTO_ICMP)
        echo_request_type = ICMPV4_ECHO_REQUEST
    else:
        # Our requests carry no extension headers, so the quoted ICMPv6 header follows the fixed
        # 40-byte IPv6 header directly.
        if len(quoted) < IPV6_HEADER_LENGTH or quoted[0] >> 4 != 6 or quoted[6] != IPPROTO_ICMPV6:
            return None
        destination = str(ipaddress.IPv6Address(quoted[24:40]))
        inner = quoted[IPV6_HEADER_LENGTH:]
        echo_request_type = ICMPV6_ECHO_REQUEST
    if inner is None or len(inner) < ECHO_HEADER.size:
        return None
    inner_type, _code, _checksum, identifier, sequence = ECHO_HEADER.unpack_from(inner)
    if inner_type != echo_request_type:
        return None
    return ErrorReport(
        reporter=reporter,
        description=description,
        original_destination=destination,
        identifier=identifier,
        sequence=sequence,
        quoted_payload=inner[ECHO_HEADER.size :],
    )


def _describe_icmpv4_error(icmp_type: int, code: int) -> str | None:
    if icmp_type == ICMPV4_DEST_UNREACHABLE:
        return _ICMPV4_UNREACHABLE_CODES.get(code, f"destination unreachable (code {code})")
    if icmp_type == ICMPV4_TIME_EXCEEDED:
        return "TTL exceeded in transit" if code == 0 else "fragment reassembly time exceeded"
    if icmp_type == ICMPV4_PARAMETER_PROBLEM:
        return "parameter problem"
    return None


def _describe_icmpv6_error(icmp_type: int, code: int) -> str | None:
    if icmp_type == ICMPV6_DEST_UNREACHABLE:
        return _ICMPV6_UNREACHABLE_CODES.get(code, f"destination unreachable (code {code})")
    if icmp_type == ICMPV6_PACKET_TOO_BIG:
        return "packet too big"
    if icmp_type == ICMPV6_TIME_EXCEEDED:
        return "hop limit exceeded in transit" if code == 0 else "fragment reassembly time exceeded"
    if icmp_type == ICMPV6_PARAMETER_PROBLEM:
        return "parameter problem"
    return None


# Linux `struct sock_extended_err`: errno, origin, type, code, pad, info, data.
_EXTENDED_ERROR = struct.Struct("=IBBBBII")
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3


def parse_queued_error(
    family: Family, extended_error: bytes, quoted_echo: bytes, original_destination: str
) -> ErrorReport | None:
    """An ICMP error as a datagram ICMP socket reports it: from the socket's error queue
    (IP_RECVERR), with the ICMP type/code and the reporter's address in `extended_error`, our
    quoted echo header as the message and the original destination as the message's address."""
    if len(extended_error) < _EXTENDED_ERROR.size or len(quoted_echo) < ECHO_HEADER.size:
        return None
    _errno, origin, icmp_type, code, _pad, _info, _data = _EXTENDED_ERROR.unpack_from(
        extended_error
    )
    offender = extended_error[_EXTENDED_ERROR.size :]
    if family is Family.V4:
        if origin != SO_EE_ORIGIN_ICMP or len(offender) < 8:
            return None
        reporter = str(ipaddress.IPv4Address(offender[4:8]))
        description = _describe_icmpv4_error(icmp_type, code)
    else:
        if origin != SO_EE_ORIGIN_ICMP6 or len(offender) < 24:
            return None
        reporter = str(ipaddress.IPv6Address(offender[8:24]))
        description = _describe_icmpv6_error(icmp_type, code)
    if description is None:
        return None
    _type, _code, _checksum, identifier, sequence = ECHO_HEADER.unpack_from(quoted_echo)
    return ErrorReport(
        reporter=reporter,
        description=description,
        original_destination=canonical_address(original_destination),
        identifier=identifier,
        sequence=sequence,
        quoted_payload=quoted_echo[ECHO_HEADER.size :],
    )
