"""How v1/v2c replies find their request: request-id kept across retries, replies from
elsewhere or for someone else ignored, garbage told apart from silence."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto.api import v2c
from support.snmp_agents import SnmpdAgent

from netwatch.samples import SnmpErrorKind
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.community_codec import Response
from netwatch.snmp.community_transport import CommunityTransport
from netwatch.snmp.target import SnmpTarget

COMMUNITY = b"transport-community"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
LOCATION = b"under the stairs"


def reply_to(
    request: bytes, *, request_id_offset: int = 0, community: bytes | None = None
) -> bytes:
    """pysnmp's answer to a v2c GET: each OID with LOCATION."""
    message, _ = decoder.decode(request, asn1Spec=v2c.Message())
    pdu = v2c.apiMessage.get_pdu(message)
    response = v2c.apiPDU.get_response(pdu)
    v2c.apiPDU.set_request_id(response, int(v2c.apiPDU.get_request_id(pdu)) + request_id_offset)
    names = [name for name, _ in v2c.apiPDU.get_varbinds(pdu)]
    v2c.apiPDU.set_varbinds(response, [(name, v2c.OctetString(LOCATION)) for name in names])
    v2c.apiMessage.set_pdu(message, response)
    if community is not None:
        v2c.apiMessage.set_community(message, community)
    encoded: bytes = encoder.encode(message)
    return encoded


def request_id_of(request: bytes) -> int:
    message, _ = decoder.decode(request, asn1Spec=v2c.Message())
    return int(v2c.apiPDU.get_request_id(v2c.apiMessage.get_pdu(message)))


Handler = Callable[[bytes, Any, Any, Any], Awaitable[None]]


class Responder:
    """A UDP agent on 127.0.0.1 that hands each request to `handler(request, sender,
    socket, other_socket)`; `other_socket` is bound to a second port."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[bytes] = []

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        other = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        with sock, other:
            await sock.bind(("127.0.0.1", 0))
            await other.bind(("127.0.0.1", 0))
            task_status.started(sock.getsockname()[1])
            while True:
                request, sender = await sock.recvfrom(65535)
                self.requests.append(request)
                await self.handler(request, sender, sock, other)


async def ask(
    snmp_client: SnmpClient, handler: Handler, *, retries: int = 0
) -> tuple[Any, Responder]:
    responder = Responder(handler)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(responder.serve)
        target = SnmpTarget(
            "127.0.0.1", port, "2c", community=COMMUNITY, timeout=0.3, retries=retries
        )
        result = await snmp_client.get(target, [SYS_LOCATION])
        nursery.cancel_scope.cancel()
    return result, responder


async def test_late_answer_to_the_first_attempt_counts(snmp_client: SnmpClient) -> None:
    async def answer_the_first_after_the_retry(
        request: bytes, sender: Any, sock: Any, other: Any
    ) -> None:
        if len(responder_requests) == 0:
            responder_requests.append(request)
            return
        await sock.sendto(reply_to(responder_requests[0]), sender)

    responder_requests: list[bytes] = []
    result, responder = await ask(snmp_client, answer_the_first_after_the_retry, retries=2)

    assert result.error is None
    assert result.varbinds[0].value == LOCATION
    first, second = responder.requests
    assert first == second  # the very same message, request-id included
    assert 1 <= request_id_of(first) < 2**31


@pytest.mark.parametrize(
    "how",
    ["from another port", "with another request-id", "with another community"],
)
async def test_replies_that_are_not_the_answer_are_ignored(
    snmp_client: SnmpClient, how: str
) -> None:
    async def answer_wrongly(request: bytes, sender: Any, sock: Any, other: Any) -> None:
        if how == "from another port":
            await other.sendto(reply_to(request), sender)
        elif how == "with another request-id":
            await sock.sendto(reply_to(request, request_id_offset=1), sender)
        else:
            await sock.sendto(reply_to(request, community=b"someone-else"), sender)

    result, responder = await ask(snmp_client, answer_wrongly, retries=1)

    assert result.error is not None
    assert result.error.kind is SnmpErrorKind.TIMEOUT
    assert len(responder.requests) == 2


async def test_garbage_before_the_answer_does_no_harm(
    snmp_client: SnmpClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)

    async def garbage_then_answer(request: bytes, sender: Any, sock: Any, other: Any) -> None:
        await sock.sendto(request[:-3], sender)
        await sock.sendto(reply_to(request), sender)

    result, _ = await ask(snmp_client, garbage_then_answer)

    assert result.error is None
    assert result.varbinds[0].value == LOCATION
    (dump,) = [r.getMessage() for r in caplog.records if "undecodable" in r.getMessage()]
    assert "truncated" in dump
    assert COMMUNITY.decode() not in dump
    assert COMMUNITY.hex(" ") not in dump


async def test_only_garbage_is_malformed_and_says_why(snmp_client: SnmpClient) -> None:
    async def only_garbage(request: bytes, sender: Any, sock: Any, other: Any) -> None:
        await sock.sendto(reply_to(request) + b"\x00\x00", sender)

    result, responder = await ask(snmp_client, only_garbage, retries=1)

    assert result.error is not None
    assert result.error.kind is SnmpErrorKind.MALFORMED
    assert result.error.message == (
        "agent replied only with undecodable datagrams (2 bytes after the message)"
    )
    assert len(responder.requests) == 2
    assert COMMUNITY.decode() not in str(result.error)


async def test_request_ids_count_up_and_wrap_within_31_bits(snmpd_agent: SnmpdAgent) -> None:
    transport = CommunityTransport()
    transport._next_request_id = 2**31 - 2  # white-box: reach the wrap quickly
    seen: list[int] = []

    async def answer(request: bytes, sender: Any, sock: Any, other: Any) -> None:
        seen.append(request_id_of(request))
        await sock.sendto(reply_to(request), sender)

    responder = Responder(answer)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(responder.serve)
        await nursery.start(transport.run)
        target = SnmpTarget("127.0.0.1", port, "2c", community=COMMUNITY, timeout=1, retries=0)
        for _ in range(3):
            reply = await transport.request(target, "get", [SYS_LOCATION])
            assert isinstance(reply, Response), reply
        answered = await transport.request(snmpd_agent.v2c_target(), "get", [SYS_LOCATION])
        nursery.cancel_scope.cancel()

    assert seen == [2**31 - 2, 2**31 - 1, 1]
    assert isinstance(answered, Response), answered
    assert answered.request_id == 2


def test_request_ids_start_at_random() -> None:
    starts = {CommunityTransport()._next_request_id for _ in range(8)}
    assert len(starts) > 1
    assert all(1 <= start < 2**31 for start in starts)


async def test_target_without_community_or_address_is_a_transport_error(
    snmp_client: SnmpClient,
) -> None:
    no_community = SnmpTarget("127.0.0.1", 161, "2c")
    no_address = SnmpTarget("router.example", 161, "1", community=COMMUNITY)

    for target, message in (
        (no_community, "SNMPv2c target without a community"),
        (no_address, "not an IP address: 'router.example'"),
    ):
        result = await snmp_client.get(target, [SYS_LOCATION])
        assert result.error is not None
        assert result.error.kind is SnmpErrorKind.TRANSPORT
        assert result.error.message == message


FLOOD = 200


def undecodable_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.WARNING and "undecodable" in record.getMessage()
    ]


async def test_a_flood_of_garbage_from_the_agent_is_one_warning_and_a_count(
    snmp_client: SnmpClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)

    async def flood_then_answer(request: bytes, sender: Any, sock: Any, other: Any) -> None:
        for _ in range(FLOOD):
            await sock.sendto(request[:-3], sender)
        await sock.sendto(reply_to(request), sender)

    result, _ = await ask(snmp_client, flood_then_answer)

    assert result.error is None
    assert result.varbinds[0].value == LOCATION
    first, summary = undecodable_warnings(caplog)
    assert "truncated" in first
    assert f"{FLOOD - 1} more undecodable" in summary


async def test_garbage_from_where_no_request_went_is_not_logged_as_a_warning(
    snmp_client: SnmpClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)

    async def stranger_floods_then_agent_answers(
        request: bytes, sender: Any, sock: Any, other: Any
    ) -> None:
        for _ in range(FLOOD):
            await other.sendto(request[:-3], sender)
        await sock.sendto(reply_to(request), sender)

    result, _ = await ask(snmp_client, stranger_floods_then_agent_answers)

    assert result.error is None
    assert undecodable_warnings(caplog) == []


FLOODER = """
import select, socket, sys, time
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
port, ends = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
print("flooding", flush=True)
while time.monotonic() < ends and not select.select([sys.stdin], [], [], 0)[0]:
    for _ in range(1000):
        sock.sendto(b"\\x30\\x03bad", ("127.0.0.1", port))
"""
FLOOD_LIMIT_S = 10  # the flood stops by itself after this, should the test never stop it


async def test_a_flood_of_datagrams_does_not_stall_the_process(snmp_client: SnmpClient) -> None:
    # Every task of the process (pings, pages, the NOC page) waits while the reader reads.
    senders: list[Any] = []

    async def answer(request: bytes, sender: Any, sock: Any, other: Any) -> None:
        senders.append(sender)
        await sock.sendto(reply_to(request), sender)

    await ask(snmp_client, answer)  # opens the client's socket; the agent sees its port
    flooder = await trio.lowlevel.open_process(
        [sys.executable, "-c", FLOODER, str(senders[0][1]), str(FLOOD_LIMIT_S)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert flooder.stdin is not None and flooder.stdout is not None
    try:
        assert (await flooder.stdout.receive_some(64)).startswith(b"flooding")  # it has begun
        await trio.sleep(0.2)
        assert flooder.poll() is None  # this task ran again while the flood went on
    finally:
        await flooder.stdin.aclose()
        await flooder.wait()
