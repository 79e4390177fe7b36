"""The hand-written v1/v2c path against real agents: every snmpsim recording read back exactly
as recorded, and every reply snmpsim and snmpd send decoded as pysnmp decodes it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import trio
from support.paths import REPO, SHARED
from support.pysnmp_reference import decode_with_pysnmp
from support.snmp_agents import SnmpdAgent, SnmpsimAgent

from netwatch.snmp.client import SnmpClient
from netwatch.snmp.community_codec import (
    GET_BULK_REQUEST,
    GET_NEXT_REQUEST,
    VERSION_1,
    VERSION_2C,
    Response,
    decode_response,
    encode_request,
)
from netwatch.snmp.oids import parse_oid
from netwatch.snmp.results import VarBind
from netwatch.snmp.target import SnmpTarget

SNMPREC_TYPES = {
    "2": "Integer32",
    "4": "OctetString",
    "4x": "OctetString",
    "6": "ObjectIdentifier",
    "64": "IpAddress",
    "65": "Counter32",
    "66": "Gauge32",
    "67": "TimeTicks",
    "70": "Counter64",
}
NO_SUCH_NAME = 2


def recorded_rows(recording: Path) -> list[VarBind]:
    """The varbinds a recording holds, in OID order."""
    rows = []
    for line in recording.read_text().splitlines():
        if not line.strip():
            continue
        oid, tag, text = line.split("|", 2)
        value: int | bytes | str
        if tag == "4x":
            value = bytes.fromhex(text)
        elif tag == "4":
            value = text.encode()
        elif tag in ("6", "64"):
            value = text
        else:
            value = int(text)
        rows.append(VarBind(oid, SNMPREC_TYPES[tag], value))
    return sorted(rows, key=lambda row: parse_oid(row.oid))


def recordings(agent: SnmpsimAgent, folder: Path) -> list[tuple[str, Path]]:
    return [(device, folder / f"{device}.snmprec") for device in agent.devices]


async def test_every_recording_walks_back_exactly_as_recorded(
    snmp_client: SnmpClient, snmpsim_agent: SnmpsimAgent, quirk_agent: SnmpsimAgent
) -> None:
    devices = [
        *(
            (snmpsim_agent, device, path)
            for device, path in recordings(snmpsim_agent, SHARED / "snmprec")
        ),
        *(
            (quirk_agent, device, path)
            for device, path in recordings(quirk_agent, REPO / "tests/data/snmp")
        ),
    ]
    assert len(devices) == 15
    for agent, device, path in devices:
        expected = recorded_rows(path)
        roots = sorted({".".join(row.oid.split(".")[:2]) for row in expected})
        walked: list[VarBind] = []
        for root in roots:
            result = await snmp_client.walk(agent.target(device), root, max_rows=10_000)
            assert result.error is None, (device, root, result.error)
            assert not result.truncated
            walked.extend(result.rows)
        assert walked == expected, device


async def raw_exchange(address: tuple[str, int], request: bytes) -> bytes:
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
    with sock:
        await sock.sendto(request, address)
        with trio.fail_after(5):
            reply, _ = await sock.recvfrom(65535)
    return reply


async def walk_comparing_decoders(
    target: SnmpTarget, *, bulk: bool, start: str = "0.0", max_requests: int = 400
) -> list[Response]:
    """Walk the agent's tree from `start` with our own requests, checking that every reply
    decodes as pysnmp decodes it. Returns the replies."""
    assert target.community is not None
    version = VERSION_2C if bulk else VERSION_1
    kind = GET_BULK_REQUEST if bulk else GET_NEXT_REQUEST
    cursor = start
    replies: list[Response] = []
    for request_id in range(1, max_requests + 1):
        request = encode_request(
            version, target.community, request_id, kind, [cursor], max_repetitions=25 if bulk else 0
        )
        reply = await raw_exchange((target.address, target.port), request)
        decoded = decode_response(reply)
        assert decoded.request_id == request_id
        if decoded.error_status == NO_SUCH_NAME and version == VERSION_1:
            return replies  # v1's end of the MIB view (pysnmp rewrites these values)
        assert decoded == decode_with_pysnmp(reply)
        replies.append(decoded)
        rows = [row for row in decoded.varbinds if row.type_name != "EndOfMibView"]
        if not rows:
            return replies
        cursor = rows[-1].oid
    return replies


async def test_every_snmpsim_reply_decodes_as_pysnmp_decodes_it(
    snmpsim_agent: SnmpsimAgent,
) -> None:
    for device in snmpsim_agent.devices:
        replies = await walk_comparing_decoders(snmpsim_agent.target(device), bulk=True)
        rows = [row for reply in replies for row in reply.varbinds]
        assert len(rows) >= len(recorded_rows(SHARED / "snmprec" / f"{device}.snmprec"))


# system and interfaces, ipAddrTable (IpAddress), ifXTable (Counter64, which v1 skips)
SNMPD_STARTS = ("0.0", "1.3.6.1.2.1.4.20", "1.3.6.1.2.1.31.1.1.1.5")


@pytest.mark.parametrize("bulk", [False, True], ids=["v1-getnext", "v2c-getbulk"])
async def test_snmpd_replies_decode_as_pysnmp_decodes_them(
    snmpd_agent: SnmpdAgent, bulk: bool
) -> None:
    types = set()
    for start in SNMPD_STARTS:
        replies = await walk_comparing_decoders(
            snmpd_agent.v2c_target(), bulk=bulk, start=start, max_requests=12 if bulk else 300
        )
        types |= {row.type_name for reply in replies for row in reply.varbinds}
    assert {"Integer32", "OctetString", "ObjectIdentifier", "TimeTicks", "Counter32"} <= types
    assert {"Gauge32", "IpAddress"} <= types
    assert ("Counter64" in types) is bulk


async def test_snmpd_reads_the_same_over_v1_and_v2c(
    snmp_client: SnmpClient, snmpd_agent: SnmpdAgent
) -> None:
    v2c = snmpd_agent.v2c_target()
    v1 = dataclasses.replace(v2c, version="1")
    stable = ("OctetString", "ObjectIdentifier", "IpAddress", "Integer32")
    for root in ("1.3.6.1.2.1.1", "1.3.6.1.2.1.2", "1.3.6.1.6.3.10"):
        over_v1, over_v2c = await snmp_client.walk(v1, root), await snmp_client.walk(v2c, root)
        assert over_v1.error is None and over_v2c.error is None
        assert over_v1.rows
        assert [(r.oid, r.type_name) for r in over_v1.rows] == [
            (r.oid, r.type_name) for r in over_v2c.rows
        ]
        assert [r for r in over_v1.rows if r.type_name in stable] == [
            r for r in over_v2c.rows if r.type_name in stable
        ]
