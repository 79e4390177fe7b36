"""SnmpClient against a real net-snmp snmpd on 127.0.0.1: v2c, v3, walks, errors, load."""

from __future__ import annotations

import dataclasses
import time

import pytest
import trio
from support.snmp_agents import SnmpdAgent, free_udp_port

from netwatch.samples import SnmpErrorKind
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.target import SnmpTarget

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SYSTEM = "1.3.6.1.2.1.1"
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"


async def test_v2c_get_carries_several_oids_in_one_pdu(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent
) -> None:
    oids = [SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_CONTACT, SYS_LOCATION]

    result = await snmp_client.get(snmpd_agent.v2c_target(), oids)

    assert result.error is None
    assert [varbind.oid for varbind in result.varbinds] == oids
    by_oid = {varbind.oid: varbind for varbind in result.varbinds}
    assert by_oid[SYS_LOCATION].type_name == "OctetString"
    assert by_oid[SYS_LOCATION].value == b"netwatch test agent"
    assert by_oid[SYS_CONTACT].value == b"netwatch-tests"
    assert by_oid[SYS_UPTIME].type_name == "TimeTicks"
    assert isinstance(by_oid[SYS_UPTIME].value, int)
    assert by_oid[SYS_OBJECT_ID].type_name == "ObjectIdentifier"
    assert str(by_oid[SYS_OBJECT_ID].value).startswith("1.3.6.1.4.1.8072.")


async def test_missing_oid_is_not_supported_while_the_others_answer(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent
) -> None:
    missing = "1.3.6.1.4.1.99999.1.0"

    result = await snmp_client.get(snmpd_agent.v2c_target(), [SYS_LOCATION, missing])

    assert result.error is None
    location, absent = result.varbinds
    assert location.value == b"netwatch test agent"
    assert absent.oid == missing
    assert absent.not_supported
    assert absent.value is None


async def test_v1_get_drops_missing_oid_and_reads_the_rest(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent
) -> None:
    missing = "1.3.6.1.4.1.99999.1.0"
    target = dataclasses.replace(snmpd_agent.v2c_target(), version="1")

    result = await snmp_client.get(target, [missing, SYS_LOCATION])

    assert result.error is None
    absent, location = result.varbinds
    assert absent.not_supported
    assert location.value == b"netwatch test agent"


@pytest.mark.parametrize("user", ["nw-authpriv", "nw-authnopriv", "nw-sha512-aes"])
async def test_v3_get(snmp_client: SnmpClient, snmpd_agent: SnmpdAgent, user: str) -> None:
    result = await snmp_client.get(snmpd_agent.v3_target(user), [SYS_LOCATION, SYS_UPTIME])

    assert result.error is None
    assert result.varbinds[0].value == b"netwatch test agent"
    assert result.varbinds[1].type_name == "TimeTicks"


async def test_v3_wrong_auth_key_is_an_auth_error_not_a_timeout(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent
) -> None:
    good = snmpd_agent.v3_target("nw-authpriv", timeout=0.5, retries=0)
    wrong = dataclasses.replace(good, auth_key=b"not-the-auth-key")

    started = time.monotonic()
    result = await snmp_client.get(wrong, [SYS_LOCATION])
    elapsed = time.monotonic() - started

    assert result.error is not None
    assert result.error.kind is SnmpErrorKind.AUTH
    assert elapsed < 2.0
    # The right key for the same user still works on the same engine.
    assert (await snmp_client.get(good, [SYS_LOCATION])).error is None


async def test_v3_unknown_user_is_an_auth_error(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent
) -> None:
    target = dataclasses.replace(
        snmpd_agent.v3_target("nw-authpriv", timeout=0.5, retries=0), user="nobody-here"
    )

    result = await snmp_client.get(target, [SYS_LOCATION])

    assert result.error is not None
    assert result.error.kind is SnmpErrorKind.AUTH


async def test_v3_level_beyond_what_the_user_may_use_is_an_auth_error(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent
) -> None:
    # nw-authnopriv has no privacy key on the agent: asking for authPriv is rejected.
    target = dataclasses.replace(
        snmpd_agent.v3_target("nw-authnopriv", timeout=0.5, retries=0),
        priv_protocol="AES",
        priv_key=b"whatever-priv-key",
    )

    result = await snmp_client.get(target, [SYS_LOCATION])

    assert result.error is not None
    assert result.error.kind in (SnmpErrorKind.AUTH, SnmpErrorKind.TIMEOUT)


async def test_port_without_agent_times_out(snmp_client: SnmpClient) -> None:
    target = SnmpTarget(
        "127.0.0.1", free_udp_port(), "2c", community=b"public", timeout=0.3, retries=1
    )

    started = time.monotonic()
    result = await snmp_client.get(target, [SYS_DESCR])
    elapsed = time.monotonic() - started

    assert result.error is not None
    assert result.error.kind is SnmpErrorKind.TIMEOUT
    assert 0.5 <= elapsed < 1.5  # two attempts of 0.3 s


async def test_wrong_community_times_out(snmp_client: SnmpClient, snmpd_agent: SnmpdAgent) -> None:
    target = dataclasses.replace(
        snmpd_agent.v2c_target(timeout=0.3, retries=0), community=b"not-the-community"
    )

    result = await snmp_client.get(target, [SYS_DESCR])

    assert result.error is not None
    assert result.error.kind is SnmpErrorKind.TIMEOUT


@pytest.mark.parametrize("version", ["1", "2c", "3"])
async def test_walk_reads_the_whole_subtree_and_stops_at_its_end(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent, version: str
) -> None:
    target = (
        snmpd_agent.v3_target("nw-authpriv")
        if version == "3"
        else dataclasses.replace(snmpd_agent.v2c_target(), version=version)
    )

    result = await snmp_client.walk(target, SYSTEM)

    assert result.error is None
    assert not result.truncated
    oids = [row.oid for row in result.rows]
    assert oids[0] == SYS_DESCR
    assert SYS_LOCATION in oids
    assert all(oid.startswith(SYSTEM + ".") for oid in oids)
    assert oids == sorted(oids, key=lambda oid: tuple(int(part) for part in oid.split(".")))
    # sysORTable rows alone are more than one GETBULK's worth: the walk continued.
    assert len(oids) > 25


async def test_walk_stops_at_max_rows(snmp_client: SnmpClient, snmpd_agent: SnmpdAgent) -> None:
    result = await snmp_client.walk(snmpd_agent.v2c_target(), SYSTEM, max_rows=5)

    assert result.error is None
    assert result.truncated
    assert len(result.rows) == 5


async def test_walk_of_a_table_by_column(snmp_client: SnmpClient, snmpd_agent: SnmpdAgent) -> None:
    result = await snmp_client.walk(snmpd_agent.v2c_target(), IF_DESCR)

    assert result.error is None
    names = {row.value for row in result.by_index(IF_DESCR).values()}
    assert b"lo" in names


async def test_many_concurrent_gets_lose_nothing(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent
) -> None:
    targets = [snmpd_agent.v2c_target(timeout=5.0, retries=0)] * 200 + [
        snmpd_agent.v3_target("nw-authpriv", timeout=5.0, retries=0)
    ] * 50
    results = []

    async def one(target: SnmpTarget) -> None:
        results.append(await snmp_client.get(target, [SYS_LOCATION, SYS_UPTIME]))

    started = time.monotonic()
    async with trio.open_nursery() as nursery:
        for target in targets:
            nursery.start_soon(one, target)
    elapsed = time.monotonic() - started

    assert len(results) == len(targets)
    assert [result.error for result in results if result.error] == []
    assert all(result.varbinds[0].value == b"netwatch test agent" for result in results)
    print(f"{len(targets)} GETs in flight: {elapsed:.2f}s, {len(targets) / elapsed:.0f} GET/s")


async def test_cancelled_get_leaves_the_client_usable(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent
) -> None:
    silent = SnmpTarget(
        "127.0.0.1", free_udp_port(), "2c", community=b"public", timeout=5.0, retries=0
    )
    with trio.move_on_after(0.2) as scope:
        await snmp_client.get(silent, [SYS_DESCR])
    assert scope.cancelled_caught

    result = await snmp_client.get(snmpd_agent.v2c_target(), [SYS_LOCATION])

    assert result.error is None
    assert result.varbinds[0].value == b"netwatch test agent"


async def test_secrets_never_appear_in_reprs_or_errors(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent
) -> None:
    v3 = snmpd_agent.v3_target("nw-authpriv", timeout=0.3, retries=0)
    wrong = dataclasses.replace(v3, auth_key=b"leaky-auth-key", priv_key=b"leaky-priv-key")
    v2 = dataclasses.replace(snmpd_agent.v2c_target(timeout=0.3, retries=0), community=b"leaky")

    texts = [repr(snmp_client), repr(v3), repr(wrong), repr(v2)]
    for target in (wrong, v2):
        result = await snmp_client.get(target, [SYS_DESCR])
        texts += [repr(result), str(result.error)]

    for secret in ("leaky", "auth-secret-1", "priv-secret-1"):
        assert not any(secret in text for text in texts), secret
