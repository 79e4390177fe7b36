"""A small SNMPv2c agent on 127.0.0.1 that answers the way broken devices do.

It decodes each GET with pysnmp's message API and answers according to `behaviour`:
`values` (each OID's last sub-identifier as an Integer32), `too-big-above-N` (error-status
tooBig when a GET carries more than N OIDs), `mismatch` (the first OID of the reply differs
from the one asked), `truncated` (a correct reply cut in half). It records every request it
got, so tests can count round trips.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import trio
from pyasn1.codec.ber import decoder, encoder
from pysnmp.proto import api
from pysnmp.proto.api import v2c


@dataclass
class QuirkyAgent:
    behaviour: str
    port: int = 0
    requests: list[int] = field(default_factory=list)  # varbinds per request

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
        names = [name for name, _ in v2c.apiPDU.get_varbinds(request)]
        self.requests.append(len(names))
        response = v2c.apiPDU.get_response(request)
        varbinds = [(name, v2c.Integer32(int(tuple(name)[-1]))) for name in names]
        if self.behaviour.startswith("too-big-above-"):
            limit = int(self.behaviour.removeprefix("too-big-above-"))
            if len(names) > limit:
                v2c.apiPDU.set_error_status(response, 1)
                v2c.apiPDU.set_error_index(response, 0)
                varbinds = [(name, v2c.null) for name in names]
        elif self.behaviour == "mismatch":
            first = tuple(names[0])
            varbinds[0] = (v2c.ObjectIdentifier((*first, 1)), v2c.Integer32(1))
        v2c.apiPDU.set_varbinds(response, varbinds)
        v2c.apiMessage.set_pdu(message, response)
        encoded: bytes = encoder.encode(message)
        if self.behaviour == "truncated":
            return encoded[: len(encoded) // 2]
        return encoded
