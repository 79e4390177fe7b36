"""Matching logic fed with crafted packets: no sockets, no clock."""

from __future__ import annotations

import ipaddress
import struct

import pytest

from netwatch.icmp.matching import (
    SEQUENCE_SPACE,
    CapacityExhausted,
    IdentifierPool,
    OutstandingRequests,
    Probe,
    Request,
    RequestState,
)
from netwatch.icmp.packets import (
    EchoReply,
    ErrorReport,
    Family,
    build_echo_request,
    internet_checksum,
    parse_icmp,
    parse_queued_error,
)
from netwatch.samples import PingResult

IDENTIFIER = 0x4242
TARGET = "192.0.2.7"
ROUTER = "192.0.2.1"
TARGET6 = "2001:db8::7"
ROUTER6 = "2001:db8::1"


def ipv4_header(source: str, destination: str, payload_length: int, options: bytes = b"") -> bytes:
    header_length = 20 + len(options)
    return (
        struct.pack(
            "!BBHHHBBH4s4s",
            0x40 | header_length // 4,
            0,
            header_length + payload_length,
            0,
            0,
            64,
            1,  # ICMP
            0,
            ipaddress.IPv4Address(source).packed,
            ipaddress.IPv4Address(destination).packed,
        )
        + options
    )


def ipv6_header(source: str, destination: str, payload_length: int) -> bytes:
    return struct.pack(
        "!IHBB16s16s",
        0x60000000,
        payload_length,
        58,  # ICMPv6
        64,
        ipaddress.IPv6Address(source).packed,
        ipaddress.IPv6Address(destination).packed,
    )


def echo_message(icmp_type: int, identifier: int, sequence: int, payload: bytes) -> bytes:
    return struct.pack("!BBHHH", icmp_type, 0, 0, identifier, sequence) + payload


def raw_v4_reply(source: str, request: Request, payload: bytes | None = None) -> bytes:
    body = echo_message(0, *request.key, request.token if payload is None else payload)
    return ipv4_header(source, "192.0.2.100", len(body)) + body


def raw_v4_error(
    reporter: str, icmp_type: int, code: int, destination: str, request: Request, quote: int = 64
) -> bytes:
    original = echo_message(8, *request.key, request.token + bytes(40))[:quote]
    quoted = ipv4_header("192.0.2.100", destination, len(original)) + original
    body = struct.pack("!BBHI", icmp_type, code, 0, 0) + quoted
    return ipv4_header(reporter, "192.0.2.100", len(body)) + body


def v6_error(icmp_type: int, code: int, destination: str, request: Request) -> bytes:
    original = echo_message(128, *request.key, request.token)
    return (
        struct.pack("!BBHI", icmp_type, code, 0, 0)
        + ipv6_header("2001:db8::100", destination, len(original))
        + original
    )


def feed_v4(table: OutstandingRequests, packet: bytes, source: str, now: float) -> Request | None:
    message = parse_icmp(Family.V4, packet, source, has_ip_header=True)
    assert message is not None
    return table.handle(message, now)


def sent_probe(table: OutstandingRequests, address: str, count: int, at: float = 10.0) -> Probe:
    probe = table.open_probe(address, count)
    for request in probe.requests:
        table.mark_sent(request, at)
    return probe


# --- packets -------------------------------------------------------------------------------


def test_echo_request_v4_has_valid_checksum_and_fields() -> None:
    packet = build_echo_request(Family.V4, 0x1234, 0xBEEF, b"payload!")
    assert internet_checksum(packet) == 0
    icmp_type, _code, _checksum, identifier, sequence = struct.unpack("!BBHHH", packet[:8])
    assert (icmp_type, identifier, sequence) == (8, 0x1234, 0xBEEF)
    assert packet[8:] == b"payload!"


def test_echo_request_v6_leaves_checksum_to_the_kernel() -> None:
    packet = build_echo_request(Family.V6, 7, 9, b"x")
    assert struct.unpack("!BBHHH", packet[:8]) == (128, 0, 0, 7, 9)


def test_reply_behind_ipv4_options_is_parsed_at_the_right_offset() -> None:
    body = echo_message(0, 5, 6, b"tok")
    packet = ipv4_header(TARGET, "192.0.2.100", len(body), options=bytes(8)) + body
    assert parse_icmp(Family.V4, packet, TARGET, has_ip_header=True) == EchoReply(
        TARGET, 5, 6, b"tok"
    )


@pytest.mark.parametrize(
    ("description", "packet", "has_ip_header"),
    [
        ("our own echo request looping back", echo_message(8, 1, 2, b""), False),
        ("truncated header", echo_message(0, 1, 2, b"")[:6], False),
        ("not IPv4", b"\x60" + bytes(40), True),
        ("IP payload is not ICMP", ipv4_header(TARGET, TARGET, 8)[:9] + b"\x11" + bytes(18), True),
        ("redirect is not an error about reachability", struct.pack("!BBHI", 5, 1, 0, 0), False),
    ],
)
def test_packets_that_are_not_ours_parse_to_nothing(
    description: str, packet: bytes, has_ip_header: bool
) -> None:
    assert parse_icmp(Family.V4, packet, TARGET, has_ip_header=has_ip_header) is None, description


def test_v6_reply_source_is_canonicalised() -> None:
    message = parse_icmp(
        Family.V6, echo_message(129, 1, 2, b""), "2001:DB8:0:0::7", has_ip_header=False
    )
    assert message == EchoReply(TARGET6, 1, 2, b"")


def test_queued_error_from_datagram_socket_is_read() -> None:
    extended = struct.pack("=IBBBBII", 113, 2, 3, 1, 0, 0, 0) + struct.pack(
        "=HH4s8x", 2, 0, ipaddress.IPv4Address(ROUTER).packed
    )
    quoted = echo_message(8, 77, 5, b"abc")
    assert parse_queued_error(Family.V4, extended, quoted, TARGET) == ErrorReport(
        reporter=ROUTER,
        description="host unreachable",
        original_destination=TARGET,
        identifier=77,
        sequence=5,
        quoted_payload=b"abc",
    )


def test_queued_error_not_from_icmp_is_ignored() -> None:
    extended = struct.pack("=IBBBBII", 90, 1, 0, 0, 0, 0, 0) + bytes(16)  # origin local
    assert parse_queued_error(Family.V4, extended, echo_message(8, 1, 1, b""), TARGET) is None


# --- matching ------------------------------------------------------------------------------


def test_reply_from_probed_address_answers_its_request() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_probe(table, TARGET, 1, at=10.0)
    woken: list[bool] = []
    probe.wake = lambda: woken.append(True)

    answered = feed_v4(table, raw_v4_reply(TARGET, probe.requests[0]), TARGET, now=10.0042)

    assert answered is probe.requests[0]
    assert woken == [True]
    result = table.close_probe(probe)
    assert (result.sent, result.received, result.duplicates, result.error) == (1, 1, 0, None)
    assert result.rtts_ms == pytest.approx((4.2,))
    assert result.loss_percent == 0.0


@pytest.mark.parametrize(
    ("description", "source", "mutate"),
    [
        ("reply from another host", "192.0.2.8", None),
        ("unknown sequence", TARGET, "sequence"),
        ("another identifier (another process)", TARGET, "identifier"),
        ("payload is not our token", TARGET, "payload"),
    ],
)
def test_replies_that_do_not_belong_to_the_probe_never_count(
    description: str, source: str, mutate: str | None
) -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_probe(table, TARGET, 1)
    request = probe.requests[0]
    identifier, sequence = request.key
    payload = request.token
    if mutate == "sequence":
        sequence = (sequence + 1000) % SEQUENCE_SPACE
    elif mutate == "identifier":
        identifier ^= 1
    elif mutate == "payload":
        payload = bytes(len(payload))
    body = echo_message(0, identifier, sequence, payload)
    packet = ipv4_header(source, "192.0.2.100", len(body)) + body

    assert feed_v4(table, packet, source, now=10.1) is None, description
    assert table.counters.foreign == 1
    result = table.close_probe(probe)
    assert (result.sent, result.received) == (1, 0)
    assert result.loss_percent == 100.0


def test_duplicate_replies_are_counted_once_and_reported() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_probe(table, TARGET, 3)
    first, second, _third = probe.requests
    for _ in range(3):
        feed_v4(table, raw_v4_reply(TARGET, first), TARGET, now=10.001)
    feed_v4(table, raw_v4_reply(TARGET, second), TARGET, now=10.002)

    result = table.close_probe(probe)
    assert (result.sent, result.received, result.duplicates) == (3, 2, 2)
    assert len(result.rtts_ms) == 2
    assert result.loss_percent == pytest.approx(100 / 3)


def test_reply_after_its_request_timed_out_is_discarded() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_probe(table, TARGET, 2)
    table.mark_timed_out(probe.requests[0])

    assert feed_v4(table, raw_v4_reply(TARGET, probe.requests[0]), TARGET, now=12.0) is None
    assert table.counters.late == 1
    assert table.close_probe(probe).received == 0


def test_reply_after_the_probe_finished_matches_nothing_even_if_the_sequence_is_reused() -> None:
    table = OutstandingRequests(IDENTIFIER)
    old_probe = sent_probe(table, TARGET, 1)
    old_request = old_probe.requests[0]
    table.close_probe(old_probe)
    # Walk the sequence space until the same key is handed out again to a new probe.
    reused: Request | None = None
    for _ in range(SEQUENCE_SPACE):
        new_probe = sent_probe(table, TARGET, 1)
        if new_probe.requests[0].key == old_request.key:
            reused = new_probe.requests[0]
            break
        table.close_probe(new_probe)
    assert reused is not None

    assert feed_v4(table, raw_v4_reply(TARGET, old_request), TARGET, now=11.0) is None
    assert reused.state is RequestState.WAITING


def test_rtt_is_never_negative() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_probe(table, TARGET, 1, at=10.0)
    feed_v4(table, raw_v4_reply(TARGET, probe.requests[0]), TARGET, now=9.999)
    assert table.close_probe(probe).rtts_ms == (0.0,)


def test_reply_to_a_request_not_yet_sent_does_not_count() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = table.open_probe(TARGET, 1)
    assert feed_v4(table, raw_v4_reply(TARGET, probe.requests[0]), TARGET, now=1.0) is None
    assert table.close_probe(probe).sent == 0


@pytest.mark.parametrize(
    ("icmp_type", "code", "expected"),
    [
        (3, 1, "host unreachable"),
        (3, 0, "network unreachable"),
        (3, 13, "communication administratively prohibited"),
        (11, 0, "TTL exceeded in transit"),
    ],
)
def test_icmp_error_quoting_our_request_ends_it_with_the_router_address(
    icmp_type: int, code: int, expected: str
) -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_probe(table, TARGET, 2)
    woken: list[bool] = []
    probe.wake = lambda: woken.append(True)

    packet = raw_v4_error(ROUTER, icmp_type, code, TARGET, probe.requests[0])
    assert feed_v4(table, packet, ROUTER, now=10.01) is probe.requests[0]

    # The second request is still waiting, and its deadline is the later one: no wake-up yet.
    assert woken == []
    assert probe.requests[0].state is RequestState.FAILED
    assert probe.requests[1].state is RequestState.WAITING
    result = table.close_probe(probe)
    assert result.error == f"{expected} (reported by {ROUTER})"
    assert (result.sent, result.received) == (2, 0)


def test_error_quoting_only_the_8_byte_header_is_still_matched() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_probe(table, TARGET, 1)
    packet = raw_v4_error(ROUTER, 3, 1, TARGET, probe.requests[0], quote=8)
    assert feed_v4(table, packet, ROUTER, now=10.01) is probe.requests[0]


@pytest.mark.parametrize(
    ("description", "destination", "corrupt_token"),
    [
        ("error about a packet to another destination", "192.0.2.9", False),
        ("error quoting someone else's payload", TARGET, True),
    ],
)
def test_errors_not_about_our_request_are_ignored(
    description: str, destination: str, corrupt_token: bool
) -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_probe(table, TARGET, 1)
    request = probe.requests[0]
    packet = raw_v4_error(ROUTER, 3, 1, destination, request)
    if corrupt_token:
        # The quote ends with token (16 bytes) + 40 bytes of padding.
        packet = packet[:-56] + b"\xff" * 16 + packet[-40:]
    assert feed_v4(table, packet, ROUTER, now=10.01) is None, description
    assert request.state is RequestState.WAITING
    assert table.close_probe(probe).error is None


def test_error_after_the_reply_does_not_spoil_the_answer() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_probe(table, TARGET, 1)
    feed_v4(table, raw_v4_reply(TARGET, probe.requests[0]), TARGET, now=10.001)
    feed_v4(table, raw_v4_error(ROUTER, 3, 1, TARGET, probe.requests[0]), ROUTER, now=10.002)
    result = table.close_probe(probe)
    assert (result.received, result.error) == (1, None)


def test_ipv6_unreachable_is_matched() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_probe(table, TARGET6, 1)
    message = parse_icmp(
        Family.V6, v6_error(1, 0, TARGET6, probe.requests[0]), ROUTER6, has_ip_header=False
    )
    assert message is not None
    assert table.handle(message, 10.5) is probe.requests[0]
    assert table.close_probe(probe).error == f"no route to destination (reported by {ROUTER6})"


def test_send_failure_counts_as_sent_and_lost_with_the_reason() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = table.open_probe(TARGET, 1)
    table.mark_send_failed(probe.requests[0], "Network is unreachable")
    result = table.close_probe(probe)
    assert (result.sent, result.received, result.error) == (
        1,
        0,
        "send failed: Network is unreachable",
    )


# --- keys ----------------------------------------------------------------------------------


def test_thousands_of_probes_in_flight_never_share_a_key() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probes = [table.open_probe(f"10.0.{i // 256}.{i % 256}", 3) for i in range(10_000)]
    keys = [request.key for probe in probes for request in probe.requests]
    assert len(set(keys)) == len(keys) == 30_000
    assert table.free_slots == SEQUENCE_SPACE - 30_000


def test_a_probe_reserves_all_its_keys_or_none() -> None:
    table = OutstandingRequests(IDENTIFIER)
    table.open_probe(TARGET, SEQUENCE_SPACE - 2)
    with pytest.raises(CapacityExhausted):
        table.open_probe(TARGET, 3)
    assert table.free_slots == 2


def test_released_sequences_are_reused_last() -> None:
    table = OutstandingRequests(IDENTIFIER)
    first = table.open_probe(TARGET, 1)
    table.close_probe(first)
    second = table.open_probe(TARGET, 1)
    assert second.requests[0].key != first.requests[0].key


def test_identifier_pool_hands_out_unique_identifiers_and_reuses_released_ones() -> None:
    pool = IdentifierPool(start=SEQUENCE_SPACE - 1)
    taken = {pool.acquire() for _ in range(SEQUENCE_SPACE)}
    assert len(taken) == SEQUENCE_SPACE
    with pytest.raises(CapacityExhausted):
        pool.acquire()
    pool.release(123)
    assert pool.acquire() == 123


# --- deadlines and wake-ups ----------------------------------------------------------------


def sent_with_deadlines(
    table: OutstandingRequests, sent_at: list[float], timeout: float = 1.0
) -> Probe:
    probe = table.open_probe(TARGET, len(sent_at))
    for request, at in zip(probe.requests, sent_at, strict=True):
        table.mark_sent(request, at, deadline=at + timeout)
    return probe


def test_reply_after_the_deadline_is_late_even_before_anyone_looked() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_with_deadlines(table, [10.0])
    assert feed_v4(table, raw_v4_reply(TARGET, probe.requests[0]), TARGET, now=11.0001) is None
    assert probe.requests[0].state is RequestState.TIMED_OUT
    assert table.counters.late == 1
    # A second copy is late too, not a duplicate of an answer.
    feed_v4(table, raw_v4_reply(TARGET, probe.requests[0]), TARGET, now=11.5)
    result = table.close_probe(probe)
    assert (result.sent, result.received, result.duplicates) == (1, 0, 0)
    assert table.counters.late == 2


def test_reply_exactly_at_the_deadline_counts() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_with_deadlines(table, [10.0], timeout=0.5)
    assert feed_v4(table, raw_v4_reply(TARGET, probe.requests[0]), TARGET, now=10.5) is not None
    assert table.close_probe(probe).rtts_ms == pytest.approx((500.0,))


def test_icmp_error_after_the_deadline_is_not_recorded() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_with_deadlines(table, [10.0])
    packet = raw_v4_error(ROUTER, 3, 1, TARGET, probe.requests[0])
    assert feed_v4(table, packet, ROUTER, now=12.0) is None
    assert table.close_probe(probe).error is None


@pytest.mark.parametrize(
    ("answered", "now", "expected_wakes", "expected_waiting_until"),
    [
        # Replies in order: only the last one ends the wait.
        ([0, 1, 2], 10.45, 1, None),
        # Earlier requests still out, the last answered: wake, then wait for their deadline.
        ([2], 10.45, 1, 11.2),
        ([1, 2], 10.45, 1, 11.0),
        # The last request still out: nothing to do before its deadline.
        ([0, 1], 10.45, 0, 11.4),
        # After every deadline nobody waits, whatever came back.
        ([], 11.41, 0, None),
    ],
)
def test_the_waiting_caller_is_woken_when_its_latest_deadline_changes(
    answered: list[int], now: float, expected_wakes: int, expected_waiting_until: float | None
) -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_with_deadlines(table, [10.0, 10.2, 10.4])
    wakes: list[None] = []
    probe.wake = lambda: wakes.append(None)

    for index in answered:
        feed_v4(table, raw_v4_reply(TARGET, probe.requests[index]), TARGET, now=now)

    assert len(wakes) == expected_wakes
    assert probe.waiting_until(now) == expected_waiting_until


def test_closing_a_probe_stops_wake_ups() -> None:
    table = OutstandingRequests(IDENTIFIER)
    probe = sent_with_deadlines(table, [10.0])
    probe.wake = lambda: pytest.fail("woken after close")
    table.close_probe(probe)
    assert probe.wake is None


# --- result arithmetic ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rtts", "jitter"),
    [
        ((), None),
        ((5.0,), 0.0),
        ((1.0, 2.0, 3.0), 2 / 3),
        ((10.0, 10.0, 40.0), 40 / 3),  # average 20: deviations 10, 10, 20
    ],
)
def test_jitter_is_the_mean_deviation_of_the_rtts(
    rtts: tuple[float, ...], jitter: float | None
) -> None:
    result = PingResult("192.0.2.7", sent=3, received=len(rtts), rtts_ms=rtts)
    assert result.jitter_ms == (None if jitter is None else pytest.approx(jitter))


@pytest.mark.parametrize(
    ("sent", "received", "loss"),
    [(3, 3, 0.0), (3, 2, 100 / 3), (3, 0, 100.0), (0, 0, 100.0), (3, 5, 0.0)],
)
def test_loss_is_always_between_0_and_100_percent(sent: int, received: int, loss: float) -> None:
    assert PingResult("192.0.2.7", sent, received).loss_percent == pytest.approx(loss)
