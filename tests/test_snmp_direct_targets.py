"""Destinations are not rows in pysnmp's SNMP-TARGET-MIB (see netwatch/snmp/direct_send.py):
many devices cost no per-device table rows, and every version still gets its answers."""

from __future__ import annotations

import dataclasses
from typing import Any

import trio
from pysnmp.smi.error import NoSuchInstanceError
from support.snmp_agents import SnmpdAgent

from netwatch.snmp.client import SnmpClient

SYS_LOCATION = "1.3.6.1.2.1.1.6.0"


def target_address_rows(engine: Any) -> int:
    (column,) = engine.get_mib_builder().import_symbols("SNMP-TARGET-MIB", "snmpTargetAddrTDomain")
    rows, node = 0, column
    while True:
        try:
            node = column.getNextNode(node.name)
        except NoSuchInstanceError:
            return rows
        rows += 1


async def test_many_targets_answer_without_target_table_rows(snmpd_agent: SnmpdAgent) -> None:
    client = SnmpClient()
    v2c = snmpd_agent.v2c_target()
    v3 = snmpd_agent.v3_target("nw-authpriv")
    # Distinct timeouts make distinct targets, as distinct devices would be.
    targets = [
        dataclasses.replace(base, timeout=2.0 + n / 100) for n in range(20) for base in (v2c, v3)
    ]
    async with trio.open_nursery() as nursery:
        await nursery.start(client.run)
        results = [await client.get(target, [SYS_LOCATION]) for target in targets]
        nursery.cancel_scope.cancel()

    assert [r.error for r in results] == [None] * len(targets)
    assert {r.varbinds[0].value for r in results} == {b"netwatch test agent"}
    engines = [realm.engine for realm in client._realms]  # white-box: the point of the change
    assert [target_address_rows(engine) for engine in engines] == [0] * len(engines)
