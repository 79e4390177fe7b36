"""Agents that answer with garbage: the request fails as a value, nothing else is disturbed."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import trio
from support.snmp_agents import SnmpdAgent

from netwatch.samples import SnmpErrorKind
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.results import GetResult
from netwatch.snmp.target import SnmpTarget

SYS_LOCATION = "1.3.6.1.2.1.1.6.0"

REPLIES: dict[str, Callable[[bytes], bytes]] = {
    "random-bytes": lambda request: b"\xde\xad\xbe\xef" * 8,
    "truncated-echo": lambda request: request[: len(request) // 2],
    "bad-version": lambda request: b"\x30\x03\x02\x01\x05",  # SEQUENCE { INTEGER 5 }
    "empty": lambda request: b"",
    "ber-but-not-snmp": lambda request: b"\x04\x05hello",
}


async def serve_garbage(
    reply: Callable[[bytes], bytes],
    address: str = "127.0.0.1",
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    family = trio.socket.AF_INET6 if ":" in address else trio.socket.AF_INET
    sock = trio.socket.socket(family, trio.socket.SOCK_DGRAM)
    with sock:
        await sock.bind((address, 0))
        task_status.started(sock.getsockname()[1])
        while True:
            request, sender = await sock.recvfrom(65535)
            await sock.sendto(reply(request), sender)


@pytest.mark.parametrize("kind", sorted(REPLIES))
async def test_garbage_reply_is_an_error_value_and_others_are_unaffected(
    snmp_client: SnmpClient,
    snmpd_agent: SnmpdAgent,
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_garbage, REPLIES[kind])
        broken = SnmpTarget("127.0.0.1", port, "2c", community=b"public", timeout=0.3, retries=1)
        results: dict[str, GetResult] = {}

        async def ask_broken() -> None:
            results["broken"] = await snmp_client.get(broken, [SYS_LOCATION])

        async def ask_healthy(n: int) -> None:
            results[f"healthy-{n}"] = await snmp_client.get(
                snmpd_agent.v2c_target(), [SYS_LOCATION]
            )

        async with trio.open_nursery() as requests:
            requests.start_soon(ask_broken)
            for n in range(20):
                requests.start_soon(ask_healthy, n)
        nursery.cancel_scope.cancel()

    broken_result = results.pop("broken")
    assert broken_result.error is not None
    assert broken_result.error.kind is SnmpErrorKind.MALFORMED
    assert len(results) == 20
    assert all(result.error is None for result in results.values())
    # The client still works afterwards.
    assert (await snmp_client.get(snmpd_agent.v2c_target(), [SYS_LOCATION])).error is None


async def test_v3_garbage_reply_is_an_error_value(snmp_client: SnmpClient) -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_garbage, REPLIES["truncated-echo"])
        target = SnmpTarget(
            "127.0.0.1",
            port,
            "3",
            user="someone",
            auth_protocol="SHA",
            auth_key=b"auth-key-123",
            priv_protocol="AES",
            priv_key=b"priv-key-123",
            timeout=0.3,
            retries=0,
        )
        result = await snmp_client.get(target, [SYS_LOCATION])
        nursery.cancel_scope.cancel()

    assert result.error is not None
    assert result.error.kind is SnmpErrorKind.MALFORMED


async def test_ipv6_requests_go_out_and_replies_come_back_over_the_ipv6_socket(
    snmp_client: SnmpClient,
) -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_garbage, REPLIES["random-bytes"], "::1")
        target = SnmpTarget("::1", port, "2c", community=b"public", timeout=0.3, retries=0)
        result = await snmp_client.get(target, [SYS_LOCATION])
        nursery.cancel_scope.cancel()

    # MALFORMED (not TIMEOUT) proves the reply reached the client through the IPv6 socket.
    assert result.error is not None
    assert result.error.kind is SnmpErrorKind.MALFORMED
