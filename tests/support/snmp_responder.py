"""A small SNMPv2c agent on 127.0.0.1 that answers the way broken devices do.

It decodes each request with pysnmp's message API and answers according to `behaviour`:
`values` (each OID's last sub-identifier as an Integer32), `too-big-above-N` (error-status
tooBig when a GET or GETNEXT carries more than N OIDs or a GETBULK asks for more than N
repetitions), `bulk-too-big-above-N` (tooBig only for a GETBULK asking for more than N
repetitions), `mismatch` (the first OID of the reply differs from the one asked), `truncated`
(a correct reply cut in half). GETNEXT and GETBULK walk a table of `TABLE_ROWS` rows under
`TABLE_OID` whose values are their row numbers. It records every request it got, so tests
can count round trips.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

import trio
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api
from pysnmp.proto.api import v2c
from pysnmp.proto.rfc1905 import endOfMibView

TABLE_OID = (1, 3, 6, 1, 4, 1, 99999, 2, 1)
TABLE_ROWS = 40
_TABLE = [(*TABLE_OID, row) for row in range(1, TABLE_ROWS + 1)]


@dataclass
class QuirkyAgent:
    behaviour: str
    port: int = 0
    requests: list[int] = field(default_factory=list)  # varbinds per request
    # ("get", OIDs), ("next", OIDs) or ("bulk", max-repetitions) per request
    pdus: list[tuple[str, int]] = field(default_factory=list)

    async def serve(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_DGRAM)
        with sock:
            await sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
            task_status.started(self.port)
            while True:
                datagram, sender = await sock.recvfrom(65535)
                reply = self.answer(datagram)
                if reply is not None:
                    await sock.sendto(reply, sender)

    def answer(self, datagram: bytes) -> bytes | None:
        if api.decodeMessageVersion(datagram) != api.SNMP_VERSION_2C:
            return None
        message, _ = decoder.decode(datagram, asn1Spec=v2c.Message())
        request = v2c.apiMessage.get_pdu(message)
        names = [tuple(name) for name, _ in v2c.apiPDU.get_varbinds(request)]
        self.requests.append(len(names))
        response = v2c.apiPDU.get_response(request)
        if request.isSameTypeWith(v2c.GetBulkRequestPDU()):
            kind, size = "bulk", int(v2c.apiBulkPDU.get_max_repetitions(request))
        elif request.isSameTypeWith(v2c.GetNextRequestPDU()):
            kind, size = "next", len(names)
        else:
            kind, size = "get", len(names)
        self.pdus.append((kind, size))
        if self._too_big(kind, size):
            # RFC 3416 §4.2.1: tooBig comes with error-index 0 and no variable bindings.
            v2c.apiPDU.set_error_status(response, 1)
            v2c.apiPDU.set_error_index(response, 0)
            varbinds: list[tuple[tuple[int, ...], object]] = []
        elif kind == "bulk":
            varbinds = [row for name in names for row in _rows_after(name, max(1, size))]
        elif kind == "next":
            varbinds = [_next_in_table(name) for name in names]
        else:
            varbinds = [(name, v2c.Integer32(name[-1])) for name in names]
            if self.behaviour == "mismatch":
                varbinds[0] = ((*names[0], 1), v2c.Integer32(1))
        v2c.apiPDU.set_varbinds(response, varbinds)
        v2c.apiMessage.set_pdu(message, response)
        encoded: bytes = encoder.encode(message)
        if self.behaviour == "truncated":
            return encoded[: len(encoded) // 2]
        return encoded

    def _too_big(self, kind: str, size: int) -> bool:
        """`size`: OIDs in a GET or GETNEXT, max-repetitions in a GETBULK."""
        for prefix, kinds in (("too-big-above-", "get next bulk"), ("bulk-too-big-above-", "bulk")):
            if self.behaviour.startswith(prefix) and kind in kinds.split():
                return size > int(self.behaviour.removeprefix(prefix))
        return False


def _rows_after(oid: tuple[int, ...], repetitions: int) -> list[tuple[tuple[int, ...], object]]:
    rows = []
    for _ in range(repetitions):
        oid, value = _next_in_table(oid)
        rows.append((oid, value))
        if value is endOfMibView:
            break
    return rows


def _next_in_table(oid: tuple[int, ...]) -> tuple[tuple[int, ...], object]:
    position = bisect_right(_TABLE, oid)
    if position == len(_TABLE):
        return oid, endOfMibView
    row = _TABLE[position]
    return row, v2c.Integer32(row[-1])
