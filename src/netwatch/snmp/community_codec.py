"""SNMPv1/v2c messages by hand: GET, GETNEXT and GETBULK requests out, Response messages in.

Pure functions, no I/O. pysnmp builds and parses these through pyasn1 objects at ~0.5 ms of
CPU per request and reply; the messages are a handful of BER TLVs, walked here directly.

Decoding is BER as RFC 3417 §8 allows it for SNMP, and what agents really send:
- lengths in the short or the long form (non-minimal long forms too); the indefinite form
  (0x80) is rejected, as RFC 3417 says only the definite form is used;
- INTEGERs with redundant leading octets, and an empty INTEGER as 0 (both as pysnmp);
- Counter32, Gauge32 (Unsigned32 shares its tag), TimeTicks and Counter64 are unsigned. An
  agent that forgets the leading zero octet (0xFFFFFFFF sent as 4 octets) sends a negative
  number: it is read modulo 2^32 (2^64 for Counter64) when it fits in 4 (8) octets, as
  net-snmp's own parser does. pysnmp drops the whole reply instead. Values above the type's
  maximum, and Integer32 outside its range, make the reply undecodable (as pysnmp);
- SNMPv1 replies carry only RFC 1157's types: no Counter64 and no exception values;
- constructed (segmented) strings, multi-octet tags and bytes after the message are
  rejected: no agent sends them, and pysnmp ignores trailing bytes where this rejects them.

Every defect raises `MalformedMessage`, whose text says what and where (a byte offset), and
never holds bytes of the message: a reply carries the community in clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from netwatch.snmp.results import RawValue, VarBind

VERSION_1 = 0
VERSION_2C = 1
GET_REQUEST = 0xA0
GET_NEXT_REQUEST = 0xA1
RESPONSE = 0xA2
GET_BULK_REQUEST = 0xA5

_INTEGER = 0x02
_OCTET_STRING = 0x04
_NULL = 0x05
_OBJECT_IDENTIFIER = 0x06
_SEQUENCE = 0x30
_IP_ADDRESS = 0x40
_COUNTER32 = 0x41
_GAUGE32 = 0x42
_TIME_TICKS = 0x43
_OPAQUE = 0x44
_COUNTER64 = 0x46
_NO_SUCH_OBJECT = 0x80
_NO_SUCH_INSTANCE = 0x81
_END_OF_MIB_VIEW = 0x82

_INT32_MIN = -(2**31)
_INT32_MAX = 2**31 - 1
_NULL_VALUE = b"\x05\x00"
# Beyond 4 octets of length a datagram (at most 65,535 bytes) cannot hold the content anyway.
_MAX_LENGTH_OCTETS = 4

_UNSIGNED_TYPES: dict[int, tuple[str, int]] = {
    _COUNTER32: ("Counter32", 32),
    _GAUGE32: ("Gauge32", 32),
    _TIME_TICKS: ("TimeTicks", 32),
    _COUNTER64: ("Counter64", 64),
}
_EXCEPTION_TYPES: dict[int, str] = {
    _NO_SUCH_OBJECT: "NoSuchObject",
    _NO_SUCH_INSTANCE: "NoSuchInstance",
    _END_OF_MIB_VIEW: "EndOfMibView",
}
_V2C_ONLY_TAGS = frozenset({_COUNTER64, *_EXCEPTION_TYPES})


class MalformedMessage(ValueError):
    """A datagram that is not a well-formed SNMPv1/v2c Response message."""


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded Response message. `version` is the wire value: 0 for v1, 1 for v2c."""

    version: int
    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: tuple[VarBind, ...]


def encode_request(
    version: int,
    community: bytes,
    request_id: int,
    pdu_type: int,
    oids: Sequence[str],
    *,
    max_repetitions: int = 0,
) -> bytes:
    """A GetRequest, GetNextRequest or GetBulkRequest message asking for `oids` (dotted
    numeric strings), each with a NULL value. GETBULK has no non-repeaters here: every OID
    repeats. Raises ValueError for what cannot be encoded (an OID whose first arcs break
    the 40·x+y rule, GETBULK on SNMPv1)."""
    if version not in (VERSION_1, VERSION_2C):
        raise ValueError(f"not an SNMPv1/v2c version number: {version}")
    if pdu_type not in (GET_REQUEST, GET_NEXT_REQUEST, GET_BULK_REQUEST):
        raise ValueError(f"not a request PDU type: {pdu_type:#x}")
    if pdu_type == GET_BULK_REQUEST and version == VERSION_1:
        raise ValueError("SNMPv1 has no GETBULK")
    if not 0 <= request_id <= _INT32_MAX or not 0 <= max_repetitions <= _INT32_MAX:
        raise ValueError("request-id and max-repetitions must be 0 … 2^31-1")
    varbinds = _tlv(_SEQUENCE, b"".join([_null_varbind(oid) for oid in oids]))
    # GETBULK's non-repeaters and max-repetitions sit where the others have error-status
    # and error-index.
    repetitions = max_repetitions if pdu_type == GET_BULK_REQUEST else 0
    pdu = _tlv(pdu_type, _integer(request_id) + _integer(0) + _integer(repetitions) + varbinds)
    return _tlv(_SEQUENCE, _integer(version) + _tlv(_OCTET_STRING, community) + pdu)


def decode_response(message: bytes) -> Response:
    """The Response message in `message`, or MalformedMessage saying what is wrong."""
    end = len(message)
    start, stop = _expect(message, 0, end, _SEQUENCE, "message")
    if stop != end:
        raise MalformedMessage(f"{end - stop} bytes after the message")
    version, pos = _header_integer(message, start, stop, "version")
    if version not in (VERSION_1, VERSION_2C):
        raise MalformedMessage(f"version {version} is not SNMPv1 or SNMPv2c")
    community_start, pos = _expect(message, pos, stop, _OCTET_STRING, "community")
    community = message[community_start:pos]
    if pos >= stop:
        raise MalformedMessage(f"truncated: no PDU after the community (byte {pos})")
    if message[pos] != RESPONSE:
        raise MalformedMessage(f"PDU type {message[pos]:#04x} at byte {pos} is not a Response")
    pdu_start, pdu_stop = _expect(message, pos, stop, RESPONSE, "PDU")
    if pdu_stop != stop:
        raise MalformedMessage(f"{stop - pdu_stop} bytes after the PDU (byte {pdu_stop})")
    request_id, pos = _header_integer(message, pdu_start, pdu_stop, "request-id")
    error_status, pos = _header_integer(message, pos, pdu_stop, "error-status")
    error_index, pos = _header_integer(message, pos, pdu_stop, "error-index")
    list_start, list_stop = _expect(message, pos, pdu_stop, _SEQUENCE, "varbind list")
    if list_stop != pdu_stop:
        raise MalformedMessage(f"{pdu_stop - list_stop} bytes after the varbind list")
    varbinds = _varbinds(message, list_start, list_stop, version)
    return Response(version, community, request_id, error_status, error_index, varbinds)


def _varbinds(data: bytes, pos: int, end: int, version: int) -> tuple[VarBind, ...]:
    varbinds = []
    while pos < end:
        start, stop = _expect(data, pos, end, _SEQUENCE, "varbind")
        name_start, name_stop = _expect(data, start, stop, _OBJECT_IDENTIFIER, "varbind name")
        oid = _oid_at(data, name_start, name_stop)
        tag, value_start, value_stop = _header(data, name_stop, stop, "value")
        if value_stop != stop:
            raise MalformedMessage(f"{stop - value_stop} bytes after the value of {oid}")
        if version == VERSION_1 and tag in _V2C_ONLY_TAGS:
            raise MalformedMessage(f"tag {tag:#04x} of {oid} is not an SNMPv1 type")
        type_name, value = _value(data, tag, value_start, value_stop, oid)
        varbinds.append(VarBind(oid, type_name, value))
        pos = stop
    return tuple(varbinds)


def _value(data: bytes, tag: int, start: int, stop: int, oid: str) -> tuple[str, RawValue]:
    if tag == _OCTET_STRING:
        return "OctetString", data[start:stop]
    if tag == _INTEGER:
        number = int.from_bytes(data[start:stop], "big", signed=True)
        if not _INT32_MIN <= number <= _INT32_MAX:
            raise MalformedMessage(f"Integer32 value {number} of {oid} is out of range")
        return "Integer32", number
    unsigned = _UNSIGNED_TYPES.get(tag)
    if unsigned is not None:
        type_name, bits = unsigned
        number = int.from_bytes(data[start:stop], "big", signed=True)
        if number < 0 and stop - start <= bits // 8:
            number += 1 << bits  # the agent left out the leading zero octet
        if not 0 <= number < 1 << bits:
            raise MalformedMessage(f"{type_name} value {number} of {oid} is out of range")
        return type_name, number
    if tag == _OBJECT_IDENTIFIER:
        return "ObjectIdentifier", _oid_at(data, start, stop)
    if tag == _IP_ADDRESS:
        if stop - start != 4:
            raise MalformedMessage(f"IpAddress of {oid} has {stop - start} octets, not 4")
        return "IpAddress", "{}.{}.{}.{}".format(*data[start:stop])
    if tag == _OPAQUE:
        return "Opaque", data[start:stop]
    exception = _EXCEPTION_TYPES.get(tag)
    if exception is not None or tag == _NULL:
        if stop != start:
            raise MalformedMessage(f"{stop - start} content octets in the NULL value of {oid}")
        return exception or "Null", None
    raise MalformedMessage(f"unknown value tag {tag:#04x} of {oid} at byte {start}")


def _header(data: bytes, pos: int, end: int, what: str) -> tuple[int, int, int]:
    """(tag, content start, content stop) of the TLV at `pos`, which must end by `end`."""
    if pos + 2 > end:
        raise MalformedMessage(f"truncated: the {what} at byte {pos} has no tag and length")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise MalformedMessage(f"multi-octet tag at byte {pos}")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        octets = length & 0x7F
        if octets == 0:
            raise MalformedMessage(f"indefinite length at byte {pos - 1}")
        if octets > _MAX_LENGTH_OCTETS:
            raise MalformedMessage(f"{octets}-octet length at byte {pos - 1}")
        if pos + octets > end:
            raise MalformedMessage(f"truncated: the length of the {what} at byte {pos - 2}")
        length = int.from_bytes(data[pos : pos + octets], "big")
        pos += octets
    stop = pos + length
    if stop > end:
        raise MalformedMessage(
            f"truncated: the {what} at byte {pos} needs {length} bytes, {end - pos} are left"
        )
    return tag, pos, stop


def _expect(data: bytes, pos: int, end: int, tag: int, what: str) -> tuple[int, int]:
    if pos < end and data[pos] != tag:
        raise MalformedMessage(
            f"the {what} at byte {pos} has tag {data[pos]:#04x}, expected {tag:#04x}"
        )
    _, start, stop = _header(data, pos, end, what)
    return start, stop


def _header_integer(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    start, stop = _expect(data, pos, end, _INTEGER, what)
    number = int.from_bytes(data[start:stop], "big", signed=True)
    if not _INT32_MIN <= number <= _INT32_MAX:
        raise MalformedMessage(f"{what} {number} is out of range")
    return number, stop


def _oid_at(data: bytes, start: int, stop: int) -> str:
    try:
        return _oid_text(data[start:stop])
    except MalformedMessage as exc:
        raise MalformedMessage(f"{exc} at byte {start}") from None


@lru_cache(maxsize=16384)
def _oid_text(encoded: bytes) -> str:
    """Dotted text of an OBJECT IDENTIFIER's content octets (X.690 §8.19); the same OIDs
    come back from every device, so the text is cached per encoding."""
    if not encoded:
        raise MalformedMessage("empty OBJECT IDENTIFIER")
    if encoded[-1] & 0x80:
        raise MalformedMessage("OBJECT IDENTIFIER ends inside an arc")
    arcs: list[int] = []
    arc = 0
    at_arc_start = True
    for octet in encoded:
        if at_arc_start and octet == 0x80:
            raise MalformedMessage("OBJECT IDENTIFIER with a padded arc (0x80 first)")
        arc = (arc << 7) | (octet & 0x7F)
        at_arc_start = not octet & 0x80
        if at_arc_start:
            arcs.append(arc)
            arc = 0
    first = arcs[0]
    head = f"{first // 40}.{first % 40}" if first < 80 else f"2.{first - 80}"
    return ".".join([head, *map(str, arcs[1:])])


@lru_cache(maxsize=16384)
def _null_varbind(oid: str) -> bytes:
    return _tlv(_SEQUENCE, _tlv(_OBJECT_IDENTIFIER, _oid_content(oid)) + _NULL_VALUE)


def _oid_content(oid: str) -> bytes:
    try:
        arcs = [int(arc) for arc in oid.strip().lstrip(".").split(".")]
    except ValueError:
        raise ValueError(f"not a numeric OID: {oid!r}") from None
    if len(arcs) < 2 or min(arcs) < 0 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40):
        raise ValueError(f"OID {oid!r} cannot be encoded (X.690 §8.19.4)")
    return b"".join(_base128(arc) for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]])


def _base128(arc: int) -> bytes:
    octets = [arc & 0x7F]
    arc >>= 7
    while arc:
        octets.append(0x80 | (arc & 0x7F))
        arc >>= 7
    return bytes(reversed(octets))


def _integer(number: int) -> bytes:
    """A non-negative INTEGER in its shortest two's complement form."""
    return _tlv(_INTEGER, number.to_bytes(number.bit_length() // 8 + 1, "big"))


def _tlv(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + content
