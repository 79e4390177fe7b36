"""pysnmp's reading of SNMPv1/v2c Response messages: the reference the hand-written codec
(netwatch.snmp.community_codec) is compared with. v1 values go through pysnmp's own v1→v2
conversion, as its engine did for netwatch before."""

from __future__ import annotations

from pyasn1.codec.ber import decoder
from pysnmp.proto import api as snmp_api
from pysnmp.proto.api import v1, v2c
from pysnmp.proto.proxy import rfc2576

from netwatch.samples import SnmpError
from netwatch.snmp.community_codec import Response
from netwatch.snmp.pysnmp_varbinds import varbinds_from_pysnmp


def decode_with_pysnmp(message: bytes) -> Response:
    version = int(snmp_api.decodeMessageVersion(message))
    api = v1 if version == 0 else v2c
    decoded, _ = decoder.decode(message, asn1Spec=api.Message())
    pdu = api.apiMessage.get_pdu(decoded)
    if version == 0:
        # pysnmp rewrites the values of a v1 noSuchName reply: no test feeds it one.
        pdu = rfc2576.v1_to_v2(pdu, v2c.GetRequestPDU())
    varbinds = varbinds_from_pysnmp(v2c.apiPDU.get_varbinds(pdu))
    assert not isinstance(varbinds, SnmpError), varbinds
    return Response(
        version,
        bytes(api.apiMessage.get_community(decoded)),
        int(v2c.apiPDU.get_request_id(pdu)),
        int(v2c.apiPDU.get_error_status(pdu)),
        int(v2c.apiPDU.get_error_index(pdu, muteErrors=True)),
        varbinds,
    )
