"""SNMPv3 against net-snmp snmpd: every auth and privacy protocol it offers, wrong privacy
keys, and an agent that restarts while we poll it (engine boots, engine ID). 3DES, which
Debian's snmpd lacks, against snmpsim."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from support.paths import SHARED
from support.snmp_agents import (
    SNMPD_USERS,
    RestartableSnmpd,
    SnmpdAgent,
    SnmpdUser,
    SnmpsimAgent,
    running_snmpsim,
)

from netwatch.samples import SnmpErrorKind
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.target import SnmpTarget

SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
# SNMP-FRAMEWORK-MIB snmpEngineID / snmpEngineBoots, as the agent reports them.
ENGINE_ID = "1.3.6.1.6.3.10.2.1.1.0"
ENGINE_BOOTS = "1.3.6.1.6.3.10.2.1.2.0"


def test_the_matrix_covers_every_auth_protocol_and_each_privacy_protocol_snmpd_has() -> None:
    assert {user.auth_protocol for user in SNMPD_USERS} == {
        "MD5",
        "SHA",
        "SHA224",
        "SHA256",
        "SHA384",
        "SHA512",
    }
    # 3DES: Debian's net-snmp 5.9 rejects it ("unknown privProtocol"); snmpsim serves it below.
    assert {user.priv_protocol for user in SNMPD_USERS} - {None} == {
        "DES",
        "AES",
        "AES192",
        "AES256",
    }


@pytest.mark.parametrize("user", [user.name for user in SNMPD_USERS])
async def test_v3_get_with_each_protocol(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent, user: str
) -> None:
    result = await snmp_client.get(snmpd_agent.v3_target(user), [SYS_LOCATION, SYS_UPTIME])

    assert result.error is None, result.error
    assert result.varbinds[0].value == b"netwatch test agent"


@pytest.mark.parametrize("user", ["nw-sha224-aes192", "nw-sha384-aes256", "nw-md5-des"])
async def test_wrong_privacy_key_is_an_error_never_a_value(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent, user: str
) -> None:
    target = dataclasses.replace(
        snmpd_agent.v3_target(user, timeout=0.5, retries=0), priv_key=b"not-the-priv-key"
    )

    result = await snmp_client.get(target, [SYS_LOCATION])

    assert result.error is not None
    # net-snmp drops what it cannot decrypt (no report PDU), so this surfaces as a timeout.
    assert result.error.kind in (SnmpErrorKind.AUTH, SnmpErrorKind.TIMEOUT)
    assert b"not-the-priv-key".decode() not in str(result.error)


async def test_agent_restart_during_polling_resynchronises_the_time_window(
    snmp_client: SnmpClient, restartable_snmpd: RestartableSnmpd
) -> None:
    target = restartable_snmpd.agent.v3_target("nw-sha512-aes", timeout=1.0, retries=1)
    before = await snmp_client.get(target, [ENGINE_ID, ENGINE_BOOTS, SYS_UPTIME])
    assert before.error is None, before.error

    restartable_snmpd.restart()
    after = await snmp_client.get(target, [ENGINE_ID, ENGINE_BOOTS, SYS_UPTIME])

    assert after.error is None, after.error
    assert after.varbinds[0].value == before.varbinds[0].value  # same engine ID
    assert after.varbinds[1].value == before.varbinds[1].value + 1  # one more boot
    assert after.varbinds[2].value < before.varbinds[2].value + 100  # uptime started over
    again = await snmp_client.get(target, [SYS_LOCATION])
    assert again.error is None


async def test_agent_with_a_new_engine_id_is_rediscovered(
    snmp_client: SnmpClient, restartable_snmpd: RestartableSnmpd
) -> None:
    target = restartable_snmpd.agent.v3_target("nw-authpriv", timeout=1.0, retries=1)
    before = await snmp_client.get(target, [ENGINE_ID])
    assert before.error is None, before.error

    restartable_snmpd.restart(new_engine_id=True)
    after = await snmp_client.get(target, [ENGINE_ID])

    assert after.error is None, after.error
    assert after.varbinds[0].value != before.varbinds[0].value


TRIPLE_DES_USER = SnmpdUser("nw-sha-3des", "SHA", b"auth-secret-13", "3DES", b"priv-secret-13")
AIROS_SYS_DESCR = b"Linux 2.6.32.68 #1 Fri Dec 16 15:44:21 EET 2016 mips"


@pytest.fixture(scope="module")
def snmpsim_3des(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpsimAgent]:
    airos = SHARED / "snmprec" / "airos.snmprec"
    with running_snmpsim(
        tmp_path_factory.mktemp("snmpsim-3des"),
        [airos],
        v3_user=TRIPLE_DES_USER,
        v3_recording=airos,
    ) as agent:
        yield agent


def _triple_des_target(agent: SnmpsimAgent, **changes: object) -> SnmpTarget:
    target = TRIPLE_DES_USER.target(agent.address, agent.port, timeout=0.5, retries=1)
    return dataclasses.replace(target, **changes)  # type: ignore[arg-type]


async def test_v3_get_with_sha_and_3des(
    snmp_client: SnmpClient, snmpsim_3des: SnmpsimAgent
) -> None:
    result = await snmp_client.get(_triple_des_target(snmpsim_3des), [SYS_DESCR])

    assert result.error is None, result.error
    assert result.varbinds[0].value == AIROS_SYS_DESCR


@pytest.mark.parametrize(
    "changes",
    [{"priv_key": b"not-the-3des-key"}, {"priv_protocol": "DES"}],
    ids=["wrong-3des-key", "des-instead-of-3des"],
)
async def test_wrong_3des_key_is_an_auth_error(
    snmp_client: SnmpClient, snmpsim_3des: SnmpsimAgent, changes: dict[str, object]
) -> None:
    target = _triple_des_target(snmpsim_3des, retries=0, **changes)

    result = await snmp_client.get(target, [SYS_DESCR])

    assert result.error is not None
    # pysnmp's agent answers what it cannot decrypt with a usmStatsDecryptionErrors report.
    assert result.error.kind is SnmpErrorKind.AUTH, result.error
    assert "decryptionError" in result.error.message
    assert "not-the-3des-key" not in str(result.error)
    assert "priv-secret-13" not in str(result.error)
