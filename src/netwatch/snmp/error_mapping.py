"""pysnmp's error indications and error-status codes as netwatch's `SnmpError` kinds."""

from __future__ import annotations

from netwatch.samples import SnmpError, SnmpErrorKind

# pysnmp names an errorIndication by its class (WrongDigest) or, for a few, by a bare string
# ("badResponse"); both are normalised to the lower-camel name used here.
_KIND_BY_INDICATION: dict[str, SnmpErrorKind] = {
    "requestTimedOut": SnmpErrorKind.TIMEOUT,
    # USM reports (RFC 3414 usmStats*) and local USM failures: the agent is there and says no.
    "wrongDigest": SnmpErrorKind.AUTH,
    "unknownUserName": SnmpErrorKind.AUTH,
    "unknownSecurityName": SnmpErrorKind.AUTH,
    "unsupportedSecurityLevel": SnmpErrorKind.AUTH,
    "authenticationFailure": SnmpErrorKind.AUTH,
    "authenticationError": SnmpErrorKind.AUTH,
    "decryptionError": SnmpErrorKind.AUTH,
    "unsupportedAuthProtocol": SnmpErrorKind.AUTH,
    "unsupportedPrivProtocol": SnmpErrorKind.AUTH,
    "noAuthentication": SnmpErrorKind.AUTH,
    "noEncryption": SnmpErrorKind.AUTH,
    # Engine discovery and time synchronisation kept failing: the agent rejects our USM state.
    "notInTimeWindow": SnmpErrorKind.AUTH,
    "unknownEngineID": SnmpErrorKind.AUTH,
    "reportPduReceived": SnmpErrorKind.AUTH,
    # The agent answered with something that does not fit the request.
    "badResponse": SnmpErrorKind.MALFORMED,
    "parseError": SnmpErrorKind.MALFORMED,
    "deserializationError": SnmpErrorKind.MALFORMED,
    "invalidMsg": SnmpErrorKind.MALFORMED,
    "dataMismatch": SnmpErrorKind.MALFORMED,
    "engineIDMismatch": SnmpErrorKind.MALFORMED,
    "emptyResponse": SnmpErrorKind.MALFORMED,
    "oidNotIncreasing": SnmpErrorKind.MALFORMED,
    "unsupportedPDUtype": SnmpErrorKind.MALFORMED,
    "tooBig": SnmpErrorKind.ERROR_STATUS,
}

# RFC 3416 error-status values.
ERROR_STATUS_NAMES: dict[int, str] = {
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    7: "wrongType",
    8: "wrongLength",
    9: "wrongEncoding",
    10: "wrongValue",
    11: "noCreation",
    12: "inconsistentValue",
    13: "resourceUnavailable",
    14: "commitFailed",
    15: "undoFailed",
    16: "authorizationError",
    17: "notWritable",
    18: "inconsistentName",
}
NO_SUCH_NAME = 2
TOO_BIG = 1


def indication_name(indication: object) -> str:
    if isinstance(indication, str):
        return indication
    name = type(indication).__name__
    return name[:1].lower() + name[1:]


def error_from_indication(indication: object) -> SnmpError:
    name = indication_name(indication)
    kind = _KIND_BY_INDICATION.get(name, SnmpErrorKind.TRANSPORT)
    return SnmpError(kind, _describe(name, indication))


def error_from_status(status: int, index: int, requested_oids: tuple[str, ...]) -> SnmpError:
    name = ERROR_STATUS_NAMES.get(status, f"error-status {status}")
    where = ""
    if 1 <= index <= len(requested_oids):
        where = f" at {requested_oids[index - 1]}"
    return SnmpError(SnmpErrorKind.ERROR_STATUS, f"{name}{where}")


def _describe(name: str, indication: object) -> str:
    if isinstance(indication, str):
        return name
    return f"{name} ({indication})"
