"""The hand-written SNMPv1/v2c codec: hand-built BER for every type and every defect, and
pysnmp/pyasn1 as the reference for whatever they can encode."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import rfc1905
from pysnmp.proto.api import v1, v2c
from support.pysnmp_reference import decode_with_pysnmp

from netwatch.snmp.community_codec import (
    GET_BULK_REQUEST,
    GET_NEXT_REQUEST,
    GET_REQUEST,
    MalformedMessage,
    Response,
    decode_response,
    encode_request,
)
from netwatch.snmp.results import VarBind

SYS_UPTIME = bytes.fromhex("2b 06 01 02 01 01 03 00")  # 1.3.6.1.2.1.1.3.0


def tlv(tag: int, content: bytes) -> bytes:
    """Short-form lengths only: the long form is spelled out by hand where it is tested."""
    assert len(content) < 128
    return bytes([tag, len(content)]) + content


def response(
    values: list[bytes],
    *,
    version: int = 1,
    pdu_tag: int = 0xA2,
    request_id: bytes = b"\x07",
) -> bytes:
    """A Response message for sysUpTime.0 = each of `values` (complete value TLVs)."""
    varbinds = b"".join(tlv(0x30, tlv(0x06, SYS_UPTIME) + value) for value in values)
    pdu = tlv(pdu_tag, tlv(0x02, request_id) + b"\x02\x01\x00\x02\x01\x00" + tlv(0x30, varbinds))
    return tlv(0x30, tlv(0x02, bytes([version])) + tlv(0x04, b"public") + pdu)


def decoded_value(value: bytes, version: int = 1) -> tuple[str, object]:
    (varbind,) = decode_response(response([value], version=version)).varbinds
    assert varbind.oid == "1.3.6.1.2.1.1.3.0"
    return varbind.type_name, varbind.value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("02 01 05", ("Integer32", 5)),
        ("02 01 ff", ("Integer32", -1)),
        ("02 04 80 00 00 00", ("Integer32", -(2**31))),
        ("02 04 7f ff ff ff", ("Integer32", 2**31 - 1)),
        ("02 03 00 00 05", ("Integer32", 5)),  # redundant leading octets, as pysnmp reads them
        ("02 00", ("Integer32", 0)),  # empty, as pysnmp reads it
        ("04 00", ("OctetString", b"")),
        ("04 03 61 ff 00", ("OctetString", b"a\xff\x00")),
        ("05 00", ("Null", None)),
        ("06 03 2b 06 01", ("ObjectIdentifier", "1.3.6.1")),
        ("06 07 2b 06 01 04 01 f5 0c", ("ObjectIdentifier", "1.3.6.1.4.1.14988")),  # arc ≥ 128
        ("06 02 27 05", ("ObjectIdentifier", "0.39.5")),  # 40·x+y: x = 0
        ("06 02 4f 05", ("ObjectIdentifier", "1.39.5")),
        ("06 02 50 05", ("ObjectIdentifier", "2.0.5")),
        ("06 03 88 37 03", ("ObjectIdentifier", "2.999.3")),  # x = 2 takes y ≥ 40
        ("06 06 2b 8f ff ff ff 7f", ("ObjectIdentifier", "1.3.4294967295")),
        ("40 04 c0 a8 01 02", ("IpAddress", "192.168.1.2")),
        ("41 05 00 ff ff ff ff", ("Counter32", 2**32 - 1)),
        ("41 04 ff ff ff ff", ("Counter32", 2**32 - 1)),  # leading zero octet left out
        ("41 01 ff", ("Counter32", 2**32 - 1)),  # read as net-snmp reads it
        ("41 00", ("Counter32", 0)),
        ("42 04 ff ff ff fe", ("Gauge32", 2**32 - 2)),  # Unsigned32 shares the tag
        ("43 04 25 fc 5b 6c", ("TimeTicks", 637295468)),
        ("44 03 9f 78 04", ("Opaque", b"\x9f\x78\x04")),
        ("46 09 00 ff ff ff ff ff ff ff fa", ("Counter64", 2**64 - 6)),
        ("46 08 ff ff ff ff ff ff ff fa", ("Counter64", 2**64 - 6)),
        ("46 01 2a", ("Counter64", 42)),
        ("80 00", ("NoSuchObject", None)),
        ("81 00", ("NoSuchInstance", None)),
        ("82 00", ("EndOfMibView", None)),
    ],
)
def test_each_type_decodes_to_the_value_pysnmp_gave(
    value: str, expected: tuple[str, object]
) -> None:
    assert decoded_value(bytes.fromhex(value)) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("02 05 00 80 00 00 00", "Integer32 value 2147483648"),
        ("02 05 ff 7f ff ff ff", "Integer32 value -2147483649"),
        ("41 05 01 00 00 00 00", "Counter32 value 4294967296"),
        ("41 05 ff ff ff ff ff", "Counter32 value -1"),  # 5 octets: not a missing zero
        ("42 05 01 00 00 00 00", "Gauge32 value"),
        ("43 05 01 00 00 00 00", "TimeTicks value"),
        ("46 09 01 00 00 00 00 00 00 00 00", "Counter64 value 18446744073709551616"),
        ("40 03 01 02 03", "IpAddress of 1.3.6.1.2.1.1.3.0 has 3 octets"),
        ("40 05 01 02 03 04 05", "has 5 octets"),
        ("05 01 00", "content octets in the NULL value"),
        ("80 01 00", "content octets in the NULL value"),
        ("06 00", "empty OBJECT IDENTIFIER"),
        ("06 03 2b 80 01", "padded arc"),
        ("06 02 2b 86", "ends inside an arc"),
        ("24 04 04 02 61 62", "unknown value tag 0x24"),  # constructed OCTET STRING
        ("01 01 ff", "unknown value tag 0x01"),  # BOOLEAN
        ("45 01 00", "unknown value tag 0x45"),  # NsapAddress (SMIv1 only)
        ("47 01 00", "unknown value tag 0x47"),
        ("1f 2a 01 00", "multi-octet tag"),
        ("04 80 61 00 00", "indefinite length"),
        ("04 05 61", "truncated"),
    ],
)
def test_each_bad_value_is_malformed_with_the_reason(value: str, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        decode_response(response([bytes.fromhex(value)]))


@pytest.mark.parametrize("value", ["46 01 01", "80 00", "81 00", "82 00"])
def test_snmpv1_replies_carry_no_counter64_and_no_exceptions(value: str) -> None:
    with pytest.raises(MalformedMessage, match="not an SNMPv1 type"):
        decode_response(response([bytes.fromhex(value)], version=0))


def test_v1_reply_has_the_same_type_names_as_v2c() -> None:
    values = ["02 01 05", "41 01 05", "42 01 05", "43 01 05", "40 04 0a 00 00 01", "04 01 61"]
    for value in values:
        assert decoded_value(bytes.fromhex(value), 0) == decoded_value(bytes.fromhex(value), 1)


def test_message_fields() -> None:
    message = response([bytes.fromhex("02 01 05")], version=0, request_id=b"\x7f\xff\xff\xff")

    decoded = decode_response(message)

    assert decoded == Response(
        0, b"public", 2**31 - 1, 0, 0, (VarBind("1.3.6.1.2.1.1.3.0", "Integer32", 5),)
    )


def test_error_status_and_index_and_empty_varbind_list() -> None:
    pdu = tlv(0xA2, bytes.fromhex("02 01 2a 02 01 01 02 01 00 30 00"))
    message = tlv(0x30, bytes.fromhex("02 01 01 04 00") + pdu)

    assert decode_response(message) == Response(1, b"", 42, 1, 0, ())


def test_long_form_lengths_are_read_even_when_not_minimal() -> None:
    short = response([bytes.fromhex("04 02 61 62")])
    # The message SEQUENCE again, with its length in 2 and in 4 octets.
    content = short[2:]
    for length in (b"\x82" + len(content).to_bytes(2, "big"), b"\x84" + len(content).to_bytes(4)):
        assert decode_response(b"\x30" + length + content) == decode_response(short)


def test_long_strings_come_with_long_form_lengths() -> None:
    text = bytes(range(256)) * 2
    value = b"\x04\x82\x02\x00" + text
    varbind = b"\x30\x82" + (10 + len(value)).to_bytes(2, "big") + b"\x06\x08" + SYS_UPTIME + value
    varbinds = b"\x30\x82" + len(varbind).to_bytes(2, "big") + varbind
    pdu_content = bytes.fromhex("02 01 07 02 01 00 02 01 00") + varbinds
    pdu = b"\xa2\x82" + len(pdu_content).to_bytes(2, "big") + pdu_content
    content = bytes.fromhex("02 01 01 04 06") + b"public" + pdu
    message = b"\x30\x82" + len(content).to_bytes(2, "big") + content

    assert decoded_value_of(message) == ("OctetString", text)


def decoded_value_of(message: bytes) -> tuple[str, object]:
    (varbind,) = decode_response(message).varbinds
    return varbind.type_name, varbind.value


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"", "truncated"),
        (b"\xde\xad\xbe\xef" * 8, "has tag 0xde, expected 0x30"),
        (b"\x04\x05hello", "has tag 0x04, expected 0x30"),
        (b"\x30\x03\x02\x01\x05", "version 5 is not SNMPv1 or SNMPv2c"),
        (b"\x30\x03\x02\x01\x03", "version 3"),
        (b"\x30\x80\x02\x01\x01\x00\x00", "indefinite length"),
        (b"\x30\x85\x00\x00\x00\x00\x03", "5-octet length"),
        (b"\x30\x84\x00\x00", "truncated: the length of the message"),
        (b"\x30\x05\x02\x01\x01\x04\x00", "no PDU after the community"),
    ],
)
def test_broken_messages_are_malformed_with_the_reason(message: bytes, reason: str) -> None:
    with pytest.raises(MalformedMessage, match=reason):
        decode_response(message)


def test_trailing_garbage_after_the_message_is_malformed() -> None:
    with pytest.raises(MalformedMessage, match="1 bytes after the message"):
        decode_response(response([b"\x05\x00"]) + b"\x00")


def test_trailing_garbage_inside_a_varbind_is_malformed() -> None:
    varbind = tlv(0x30, tlv(0x06, SYS_UPTIME) + b"\x05\x00" + b"\x05\x00")
    pdu = tlv(0xA2, bytes.fromhex("02 01 07 02 01 00 02 01 00") + tlv(0x30, varbind))
    message = tlv(0x30, bytes.fromhex("02 01 01 04 00") + pdu)

    with pytest.raises(
        MalformedMessage, match=r"2 bytes after the value of 1\.3\.6\.1\.2\.1\.1\.3\.0"
    ):
        decode_response(message)


@pytest.mark.parametrize("pdu_tag", [0xA0, 0xA1, 0xA3, 0xA4, 0xA5, 0xA7, 0xA8])
def test_other_pdu_types_than_response_are_malformed(pdu_tag: int) -> None:
    with pytest.raises(MalformedMessage, match=f"PDU type {pdu_tag:#04x}"):
        decode_response(response([b"\x05\x00"], pdu_tag=pdu_tag))


def test_request_id_beyond_32_bits_is_malformed() -> None:
    with pytest.raises(MalformedMessage, match="request-id 4294967296"):
        decode_response(response([b"\x05\x00"], request_id=b"\x01\x00\x00\x00\x00"))


def test_every_truncation_of_a_reply_is_malformed() -> None:
    message = response([bytes.fromhex(v) for v in ("02 01 05", "04 02 61 62", "46 01 2a")])
    decode_response(message)
    for length in range(len(message)):
        with pytest.raises(MalformedMessage):
            decode_response(message[:length])


def test_get_request_bytes() -> None:
    message = encode_request(1, b"public", 1, GET_REQUEST, ["1.3.6.1.2.1.1.3.0"])

    assert message.hex(" ") == (
        "30 26 02 01 01 04 06 70 75 62 6c 69 63 a0 19 02 01 01 02 01 00 02 01 00 "
        "30 0e 30 0c 06 08 2b 06 01 02 01 01 03 00 05 00"
    )


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ((0, b"c", 1, GET_BULK_REQUEST, ["1.3.6"]), "SNMPv1 has no GETBULK"),
        ((1, b"c", 1, GET_REQUEST, ["3.1"]), "cannot be encoded"),
        ((1, b"c", 1, GET_REQUEST, ["1.40"]), "cannot be encoded"),
        ((1, b"c", 1, GET_REQUEST, ["1"]), "cannot be encoded"),
        ((1, b"c", 1, GET_REQUEST, ["1.3.x"]), "not a numeric OID"),
        ((1, b"c", 2**31, GET_REQUEST, ["1.3"]), "request-id"),
        ((3, b"c", 1, GET_REQUEST, ["1.3"]), "version"),
        ((1, b"c", 1, 0xA2, ["1.3"]), "not a request PDU type"),
    ],
)
def test_requests_that_cannot_be_encoded(arguments: tuple[Any, ...], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        encode_request(*arguments)


# --- pysnmp/pyasn1 as the reference -------------------------------------------------------

oids = st.builds(
    lambda first, second, rest: (first, second, *rest),
    st.integers(0, 2),
    st.integers(0, 39),
    st.lists(st.integers(0, 2**32 - 1), max_size=12),
) | st.builds(
    lambda second, rest: (2, second, *rest),
    st.integers(40, 2**20),
    st.lists(st.integers(0, 2**32 - 1), max_size=4),
)
unsigned32 = st.integers(0, 2**32 - 1)
octets = st.binary(max_size=300)
common_values = [
    st.builds(v2c.Integer32, st.integers(-(2**31), 2**31 - 1)),
    st.builds(v2c.OctetString, octets),
    st.just(v2c.Null("")),
    st.builds(v2c.ObjectIdentifier, oids),
    st.builds(v2c.IpAddress, st.binary(min_size=4, max_size=4)),
    st.builds(v2c.Counter32, unsigned32),
    st.builds(v2c.Gauge32, unsigned32),
    st.builds(v2c.TimeTicks, unsigned32),
    st.builds(v2c.Opaque, octets),
]
v2c_values = st.one_of(
    *common_values,
    st.builds(v2c.Counter64, st.integers(0, 2**64 - 1)),
    st.sampled_from([rfc1905.noSuchObject, rfc1905.noSuchInstance, rfc1905.endOfMibView]),
)
V2C_TO_V1 = {
    "Integer32": v1.Integer,
    "OctetString": v1.OctetString,
    "Null": v1.Null,
    "ObjectIdentifier": v1.ObjectIdentifier,
    "IpAddress": v1.IpAddress,
    "Counter32": v1.Counter,
    "Gauge32": v1.Gauge,
    "TimeTicks": v1.TimeTicks,
    "Opaque": v1.Opaque,
}


@st.composite
def pysnmp_responses(draw: st.DrawFn) -> bytes:
    version = draw(st.sampled_from([0, 1]))
    api: Any = v1 if version == 0 else v2c
    values = st.one_of(*common_values) if version == 0 else v2c_values
    varbinds = draw(st.lists(st.tuples(oids, values), max_size=8))
    if version == 0:
        varbinds = [(oid, V2C_TO_V1[type(value).__name__](value)) for oid, value in varbinds]
    pdu = api.GetResponsePDU() if version == 0 else api.ResponsePDU()
    api.apiPDU.set_defaults(pdu)
    api.apiPDU.set_request_id(pdu, draw(st.integers(0, 2**31 - 1)))
    # pysnmp rewrites the values of a v1 noSuchName (2) reply; the client ignores them.
    statuses = st.integers(0, 18).filter(lambda status: version == 1 or status != 2)
    api.apiPDU.set_error_status(pdu, draw(statuses))
    api.apiPDU.set_error_index(pdu, draw(st.integers(0, len(varbinds))))
    api.apiPDU.set_varbinds(pdu, varbinds)
    message = api.Message()
    api.apiMessage.set_defaults(message)
    api.apiMessage.set_community(message, draw(st.binary(max_size=40)))
    api.apiMessage.set_pdu(message, pdu)
    encoded: bytes = encoder.encode(message)
    return encoded


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pysnmp_responses())
def test_whatever_pysnmp_encodes_decodes_as_pysnmp_reads_it(message: bytes) -> None:
    assert decode_response(message) == decode_with_pysnmp(message)


@settings(max_examples=300, deadline=None)
@given(
    version=st.sampled_from([0, 1]),
    community=st.binary(max_size=200),
    request_id=st.integers(0, 2**31 - 1),
    pdu_type=st.sampled_from([GET_REQUEST, GET_NEXT_REQUEST, GET_BULK_REQUEST]),
    requested=st.lists(oids, max_size=40),
    max_repetitions=st.integers(0, 2**31 - 1),
)
def test_pysnmp_reads_our_requests_as_meant_and_encodes_them_identically(
    version: int,
    community: bytes,
    request_id: int,
    pdu_type: int,
    requested: list[tuple[int, ...]],
    max_repetitions: int,
) -> None:
    if version == 0 and pdu_type == GET_BULK_REQUEST:
        pdu_type = GET_NEXT_REQUEST
    repetitions = max_repetitions if pdu_type == GET_BULK_REQUEST else 0
    texts = [".".join(map(str, oid)) for oid in requested]

    encoded = encode_request(
        version, community, request_id, pdu_type, texts, max_repetitions=repetitions
    )

    api: Any = v1 if version == 0 else v2c
    message, rest = decoder.decode(encoded, asn1Spec=api.Message())
    assert rest == b""
    assert encoder.encode(message) == encoded  # pyasn1 writes the same bytes
    assert int(message["version"]) == version
    assert bytes(api.apiMessage.get_community(message)) == community
    pdu = api.apiMessage.get_pdu(message)
    assert pdu.tagSet[0][2] == pdu_type & 0x1F
    assert int(api.apiPDU.get_request_id(pdu)) == request_id
    if pdu_type == GET_BULK_REQUEST:
        assert int(v2c.apiBulkPDU.get_non_repeaters(pdu)) == 0
        assert int(v2c.apiBulkPDU.get_max_repetitions(pdu)) == repetitions
    else:
        assert (int(pdu[1]), int(pdu[2])) == (0, 0)
    varbinds = api.apiPDU.get_varbinds(pdu)
    assert [tuple(name) for name, _ in varbinds] == requested
    assert all(value.tagSet == v2c.Null.tagSet for _, value in varbinds)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_decode_or_are_malformed(message: bytes) -> None:
    with contextlib.suppress(MalformedMessage):
        decode_response(message)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pysnmp_responses(), st.data())
def test_damaged_replies_decode_or_are_malformed_never_raise_otherwise(
    message: bytes, data: st.DataObject
) -> None:
    damaged = bytearray(message)
    for _ in range(data.draw(st.integers(1, 4))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(damaged)))
    with contextlib.suppress(MalformedMessage):
        decode_response(bytes(damaged[:cut]))
