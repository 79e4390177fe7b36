"""Replies real devices send that a client must survive: tooBig, a different OID, half a reply."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
from support.snmp_responder import TABLE_OID, TABLE_ROWS, QuirkyAgent

from netwatch.samples import SnmpErrorKind
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.target import SnmpTarget

COMMUNITY = b"quirky-community"
OIDS = [f"1.3.6.1.4.1.99999.1.{n}.0" for n in range(1, 11)]


@asynccontextmanager
async def quirky_agent(
    behaviour: str, *, reply_wait: float = 0.5, retries: int = 0
) -> AsyncIterator[tuple[QuirkyAgent, SnmpTarget]]:
    """The agent serving on loopback, and a v2c target for it."""
    agent = QuirkyAgent(behaviour)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(agent.serve)
        yield (
            agent,
            SnmpTarget(
                "127.0.0.1", port, "2c", community=COMMUNITY, timeout=reply_wait, retries=retries
            ),
        )
        nursery.cancel_scope.cancel()


async def test_too_big_splits_the_get_and_remembers_the_size_that_worked(
    snmp_client: SnmpClient,
) -> None:
    async with quirky_agent("too-big-above-3") as (agent, target):
        first = await snmp_client.get(target, OIDS)
        learnt = snmp_client.oids_per_get(target)
        requests_first = list(agent.requests)
        agent.requests.clear()
        second = await snmp_client.get(target, OIDS)

    for result in (first, second):
        assert result.error is None, result.error
        assert [varbind.oid for varbind in result.varbinds] == OIDS
        assert [varbind.value for varbind in result.varbinds] == [0] * 10  # last sub-id .0
    # 10 → tooBig, 5 → tooBig, then 2+2+2+2+2.
    assert requests_first == [10, 5, 2, 2, 2, 2, 2]
    assert learnt == 2
    assert agent.requests == [2, 2, 2, 2, 2]  # no more tooBig round trips


async def test_too_big_for_one_oid_is_an_error_status(snmp_client: SnmpClient) -> None:
    async with quirky_agent("too-big-above-0") as (_, target):
        result = await snmp_client.get(target, OIDS[:2])

    assert result.error is not None
    assert result.error.kind is SnmpErrorKind.ERROR_STATUS
    assert "tooBig" in result.error.message


TABLE = ".".join(map(str, TABLE_OID))


async def test_too_big_walk_halves_max_repetitions_and_remembers_what_worked(
    snmp_client: SnmpClient,
) -> None:
    async with quirky_agent("bulk-too-big-above-5") as (agent, target):
        first = await snmp_client.walk(target, TABLE)
        learnt = snmp_client.repetitions_per_bulk(target)
        pdus_first = list(agent.pdus)
        agent.pdus.clear()
        second = await snmp_client.walk(target, TABLE)

    for result in (first, second):
        assert result.error is None, result.error
        assert not result.truncated
        assert [varbind.value for varbind in result.rows] == list(range(1, TABLE_ROWS + 1))
        assert [varbind.oid for varbind in result.rows] == [
            f"{TABLE}.{row}" for row in range(1, TABLE_ROWS + 1)
        ]
    # 25 → tooBig, 12 → tooBig, 6 → tooBig, then 3 rows per GETBULK: 40 rows and the end.
    assert pdus_first[:3] == [("bulk", 25), ("bulk", 12), ("bulk", 6)]
    assert pdus_first[3:] == [("bulk", 3)] * 14
    assert learnt == 3
    assert agent.pdus == [("bulk", 3)] * 14  # the second walk starts at the size that worked


async def test_walk_falls_back_to_getnext_when_one_repetition_is_too_big(
    snmp_client: SnmpClient,
) -> None:
    async with quirky_agent("bulk-too-big-above-0") as (agent, target):
        first = await snmp_client.walk(target, TABLE)
        pdus_first = list(agent.pdus)
        agent.pdus.clear()
        second = await snmp_client.walk(target, TABLE)

    for result in (first, second):
        assert result.error is None, result.error
        assert [varbind.value for varbind in result.rows] == list(range(1, TABLE_ROWS + 1))
    halvings = [("bulk", 25), ("bulk", 12), ("bulk", 6), ("bulk", 3), ("bulk", 1)]
    # One GETNEXT per row, and one more that runs off the end of the table.
    assert pdus_first == [*halvings, *[("next", 1)] * (TABLE_ROWS + 1)]
    assert snmp_client.repetitions_per_bulk(target) == 0
    assert agent.pdus == [("next", 1)] * (TABLE_ROWS + 1)


async def test_walk_too_big_even_for_getnext_is_an_error_status(snmp_client: SnmpClient) -> None:
    # even a GETNEXT for one OID is tooBig
    async with quirky_agent("too-big-above-0") as (agent, target):
        result = await snmp_client.walk(target, TABLE)

    # Five halvings, one GETNEXT: a bounded number of round trips, then the error.
    assert [kind for kind, _ in agent.pdus] == ["bulk"] * 5 + ["next"]

    assert result.error is not None
    assert result.error.kind is SnmpErrorKind.ERROR_STATUS
    assert "tooBig" in result.error.message
    assert result.rows == ()


async def test_reply_with_a_different_oid_is_malformed_and_names_both(
    snmp_client: SnmpClient,
) -> None:
    async with quirky_agent("mismatch") as (_, target):
        result = await snmp_client.get(target, OIDS[:3])

    assert result.error is not None
    assert result.error.kind is SnmpErrorKind.MALFORMED
    assert result.error.message == (
        "reply OID 1.3.6.1.4.1.99999.1.1.0.1 differs from the requested 1.3.6.1.4.1.99999.1.1.0"
    )


async def test_truncated_reply_is_retried_once_logged_as_hex_without_the_community(
    snmp_client: SnmpClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with quirky_agent("truncated", reply_wait=0.3, retries=1) as (agent, target):
        result = await snmp_client.get(target, OIDS[:3])

    assert result.error is not None
    assert result.error.kind is SnmpErrorKind.MALFORMED
    assert agent.requests == [3, 3]  # the request and one retry
    dumps = [r.getMessage() for r in caplog.records if "undecodable SNMP reply" in r.getMessage()]
    assert len(dumps) == 1  # the retry's is counted, not dumped again
    assert f"dropped 1 more undecodable SNMP replies from 127.0.0.1:{agent.port}" in caplog.text
    assert dumps[0].startswith(f"dropped undecodable SNMP reply from 127.0.0.1:{agent.port} (")
    assert ": 30 " in dumps[0]  # the hex dump starts with the BER SEQUENCE tag
    assert COMMUNITY.hex(" ") not in dumps[0]
    assert "2a 2a 2a" in dumps[0]  # the community, masked
