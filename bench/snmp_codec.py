"""CPU per SNMPv2c message: the hand-written codec against pysnmp/pyasn1 (issue 9).

The poll of bench/isp_cycle.py: a GET of 3 OIDs (sysUpTime.0, ubntHostCpuLoad.0,
ubntHostTemperature.0) and its Response (TimeTicks, two Integer32). Encoding a request with
pysnmp is counted as its message API builds it (PDU, varbinds, message, BER); decoding a reply
as pyasn1 decoding it and netwatch turning the values into VarBinds. No network.
Usage: .venv/bin/python bench/snmp_codec.py [ROUNDS]   (default 20000)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto.api import v2c

from netwatch.snmp.community_codec import GET_REQUEST, decode_response, encode_request
from netwatch.snmp.pysnmp_varbinds import varbinds_from_pysnmp

COMMUNITY = b"bench-community"
OIDS = ("1.3.6.1.2.1.1.3.0", "1.3.6.1.4.1.41112.1.4.8.3.0", "1.3.6.1.4.1.41112.1.4.8.4.0")


def pysnmp_request(request_id: int) -> bytes:
    pdu = v2c.GetRequestPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_varbinds(pdu, [(oid, v2c.null) for oid in OIDS])
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, COMMUNITY)
    v2c.apiMessage.set_pdu(message, pdu)
    encoded: bytes = encoder.encode(message)
    return encoded


def reply_message() -> bytes:
    message, _ = decoder.decode(pysnmp_request(12345), asn1Spec=v2c.Message())
    response = v2c.apiPDU.get_response(v2c.apiMessage.get_pdu(message))
    values = [v2c.TimeTicks(637273100), v2c.Integer32(400), v2c.Integer32(66)]
    v2c.apiPDU.set_varbinds(response, list(zip(OIDS, values, strict=True)))
    v2c.apiMessage.set_pdu(message, response)
    encoded: bytes = encoder.encode(message)
    return encoded


def pysnmp_decode(reply: bytes) -> object:
    message, _ = decoder.decode(reply, asn1Spec=v2c.Message())
    return varbinds_from_pysnmp(v2c.apiPDU.get_varbinds(v2c.apiMessage.get_pdu(message)))


def cpu_us_per_call(work: Callable[[int], object], rounds: int) -> float:
    started = time.process_time()
    for n in range(rounds):
        work(n)
    return (time.process_time() - started) / rounds * 1e6


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    reply = reply_message()
    assert decode_response(reply).varbinds == pysnmp_decode(reply)
    pysnmp_rounds = max(1, rounds // 20)  # ~50 times slower
    rows = [
        (
            "encode GET (3 OIDs)",
            cpu_us_per_call(pysnmp_request, pysnmp_rounds),
            cpu_us_per_call(
                lambda n: encode_request(1, COMMUNITY, n + 1, GET_REQUEST, OIDS), rounds
            ),
        ),
        (
            "decode Response (3 varbinds)",
            cpu_us_per_call(lambda n: pysnmp_decode(reply), pysnmp_rounds),
            cpu_us_per_call(lambda n: decode_response(reply), rounds),
        ),
    ]
    print("| message | pysnmp/pyasn1 µs | hand-written µs | ratio |")
    print("|---|---:|---:|---:|")
    for name, library, ours in rows:
        print(f"| {name} | {library:.1f} | {ours:.1f} | {library / ours:.0f}× |")


if __name__ == "__main__":
    main()
