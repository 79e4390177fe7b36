"""SnmpClient: GET, GETNEXT and walk as plain results. SNMPv1/v2c go through the hand-written
codec (community_transport.py); SNMPv3 through one pysnmp SnmpEngine on the trio carrier.

Agent problems (timeouts, USM rejections, error-status, garbage replies) come back as
`SnmpError` values inside the result; only programming errors raise.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import trio
from pyasn1.type import univ
from pysnmp.proto.error import StatusInformation

from netwatch.samples import SnmpError, SnmpErrorKind
from netwatch.snmp.community_transport import CommunityTransport
from netwatch.snmp.engine_realm import EngineRealm
from netwatch.snmp.engine_targets import TargetConfigError
from netwatch.snmp.error_mapping import (
    NO_SUCH_NAME,
    TOO_BIG,
    error_from_indication,
    error_from_status,
    indication_name,
)
from netwatch.snmp.oids import format_oid, is_in_subtree, parse_oid
from netwatch.snmp.pysnmp_varbinds import varbinds_from_pysnmp
from netwatch.snmp.results import NOT_SUPPORTED_TYPES, GetResult, VarBind, WalkResult
from netwatch.snmp.target import SnmpTarget

log = logging.getLogger(__name__)

DEFAULT_MAX_REPETITIONS = 25
# SNMPv3 engine discovery and time synchronisation add round trips on top of the retries.
_DISCOVERY_ROUND_TRIPS = 2
_DEADLINE_SLACK_S = 1.0


class _Answer(NamedTuple):
    error_status: int
    error_index: int
    varbinds: tuple[VarBind, ...]


@dataclass(slots=True)
class _RawResponse:
    indication: object
    error_status: int
    error_index: int
    varbinds: list[tuple[Any, Any]]


@dataclass(slots=True)
class _Pending:
    done: trio.Event = field(default_factory=trio.Event)
    response: _RawResponse | None = None


class SnmpClient:
    """All SNMP traffic of one process: SNMPv1/v2c through one socket per address family,
    SNMPv3 through one pysnmp engine with sockets of its own.

    A second engine (with its own sockets) is started only when an SNMPv3 user name turns up
    with keys different from those the first engine already holds for it.
    """

    def __init__(self, *, max_repetitions: int = DEFAULT_MAX_REPETITIONS) -> None:
        self._max_repetitions = max_repetitions
        self._community = CommunityTransport()
        self._realms = [EngineRealm()]
        self._nursery: trio.Nursery | None = None
        self._oids_per_get: dict[tuple[str, int], int] = {}
        # 0: even one repetition was tooBig, so walks of that agent use GETNEXT.
        self._repetitions_per_bulk: dict[tuple[str, int], int] = {}

    def __repr__(self) -> str:
        return f"SnmpClient(running={self._nursery is not None}, engines={len(self._realms)})"

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(self._community.run)
                for realm in self._realms:
                    await nursery.start(realm.dispatcher.run)
                self._nursery = nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._nursery = None

    def oids_per_get(self, target: SnmpTarget) -> int | None:
        """How many OIDs one GET to this agent may carry, learnt from its tooBig replies."""
        return self._oids_per_get.get((target.address, target.port))

    def repetitions_per_bulk(self, target: SnmpTarget) -> int | None:
        """The max-repetitions this agent's walks use, learnt from its tooBig replies to
        GETBULK; 0 when even one repetition was too big and its walks use GETNEXT."""
        return self._repetitions_per_bulk.get((target.address, target.port))

    async def get(self, target: SnmpTarget, oids: Sequence[str]) -> GetResult:
        """All `oids` in one GET PDU, or in as few as the agent takes: an agent that answers
        tooBig gets the request split in halves, and the size that worked is kept for it.
        The varbinds come back in request order."""
        try:
            requested = tuple(format_oid(parse_oid(oid)) for oid in oids)
        except ValueError as exc:
            return GetResult(error=SnmpError(SnmpErrorKind.MALFORMED, str(exc)))
        if not requested:
            return GetResult()
        agent = (target.address, target.port)
        answered: dict[str, VarBind] = {}
        start = 0
        while start < len(requested):
            size = self._oids_per_get.get(agent, len(requested))
            chunk = requested[start : start + size]
            result = await self._get_pdu(target, chunk)
            if result is _TOO_BIG:
                if len(chunk) == 1:
                    return GetResult(
                        error=SnmpError(
                            SnmpErrorKind.ERROR_STATUS, f"tooBig for the single OID {chunk[0]}"
                        )
                    )
                self._oids_per_get[agent] = len(chunk) // 2
                log.info(
                    "SNMP agent %s:%d answered tooBig for %d OIDs; asking for %d at a time",
                    target.address,
                    target.port,
                    len(chunk),
                    len(chunk) // 2,
                )
                continue
            assert isinstance(result, GetResult)
            if result.error is not None:
                return result
            answered.update((varbind.oid, varbind) for varbind in result.varbinds)
            start += len(chunk)
        return GetResult(varbinds=tuple(answered[oid] for oid in requested))

    async def _get_pdu(self, target: SnmpTarget, requested: tuple[str, ...]) -> GetResult | object:
        unsupported: dict[str, VarBind] = {}
        asking = requested
        while True:
            response = await self._request(target, "get", asking)
            if isinstance(response, SnmpError):
                return GetResult(error=response)
            # SNMPv1 has no per-varbind exceptions: one missing OID fails the whole PDU with
            # noSuchName at its index. Drop it and ask again for the rest (RFC 2576 §4.1.2.3).
            if (
                target.version == "1"
                and response.error_status == NO_SUCH_NAME
                and 1 <= response.error_index <= len(asking)
            ):
                missing = asking[response.error_index - 1]
                unsupported[missing] = VarBind(missing, "NoSuchObject", None)
                asking = tuple(oid for oid in asking if oid != missing)
                if asking:
                    continue
                return GetResult(varbinds=tuple(unsupported[oid] for oid in requested))
            if response.error_status == TOO_BIG:
                return _TOO_BIG
            if response.error_status:
                error = error_from_status(response.error_status, response.error_index, asking)
                return GetResult(error=error)
            received = tuple(varbind.oid for varbind in response.varbinds)
            if received != asking:
                return GetResult(error=_mismatch(asking, received))
            answered = {varbind.oid: varbind for varbind in response.varbinds} | unsupported
            return GetResult(varbinds=tuple(answered[oid] for oid in requested))

    async def get_next(self, target: SnmpTarget, oids: Sequence[str]) -> GetResult:
        """One GETNEXT PDU: for each of `oids`, the binding that follows it, in request order."""
        try:
            requested = tuple(format_oid(parse_oid(oid)) for oid in oids)
        except ValueError as exc:
            return GetResult(error=SnmpError(SnmpErrorKind.MALFORMED, str(exc)))
        if not requested:
            return GetResult()
        response = await self._request(target, "next", requested)
        if isinstance(response, SnmpError):
            return GetResult(error=response)
        if response.error_status:
            return GetResult(
                error=error_from_status(response.error_status, response.error_index, requested)
            )
        if len(response.varbinds) != len(requested):
            return GetResult(
                error=SnmpError(SnmpErrorKind.MALFORMED, "reply has a different number of OIDs")
            )
        return GetResult(varbinds=response.varbinds)

    async def walk(self, target: SnmpTarget, root_oid: str, *, max_rows: int = 1000) -> WalkResult:
        """Every row under `root_oid`: GETNEXT on SNMPv1, GETBULK on v2c/v3.

        An agent that answers a GETBULK with tooBig is asked again with half the
        max-repetitions, down to 1 and then with GETNEXT; the size that worked is kept for
        it, so the halving costs at most a handful of round trips once per agent."""
        try:
            root = parse_oid(root_oid)
        except ValueError as exc:
            return WalkResult(root_oid, error=SnmpError(SnmpErrorKind.MALFORMED, str(exc)))
        root_text = format_oid(root)
        rows: list[VarBind] = []
        cursor = root
        agent = (target.address, target.port)
        while True:
            repetitions = 0
            if target.version != "1":
                repetitions = self._repetitions_per_bulk.get(agent, self._max_repetitions)
            if repetitions:
                response = await self._request(
                    target, "bulk", (format_oid(cursor),), max_repetitions=repetitions
                )
            else:
                response = await self._request(target, "next", (format_oid(cursor),))
            if isinstance(response, SnmpError):
                # An empty GETNEXT/GETBULK reply is how some agents end a MIB view.
                if response.kind is SnmpErrorKind.MALFORMED and "emptyResponse" in response.message:
                    return WalkResult(root_text, tuple(rows))
                return WalkResult(root_text, tuple(rows), error=response)
            if target.version == "1" and response.error_status == NO_SUCH_NAME:
                return WalkResult(root_text, tuple(rows))  # v1's end of the MIB view
            if response.error_status == TOO_BIG and repetitions:
                self._repetitions_per_bulk[agent] = repetitions // 2
                log.info(
                    "SNMP agent %s:%d answered tooBig for GETBULK with max-repetitions %d; "
                    "asking for %s",
                    target.address,
                    target.port,
                    repetitions,
                    f"{repetitions // 2} at a time" if repetitions > 1 else "one row per GETNEXT",
                )
                continue
            if response.error_status:
                error = error_from_status(
                    response.error_status, response.error_index, (format_oid(cursor),)
                )
                return WalkResult(root_text, tuple(rows), error=error)
            if not response.varbinds:
                return WalkResult(root_text, tuple(rows))
            for varbind in response.varbinds:
                oid = parse_oid(varbind.oid)
                if varbind.type_name in NOT_SUPPORTED_TYPES or not is_in_subtree(oid, root):
                    return WalkResult(root_text, tuple(rows))
                if oid <= cursor:
                    error = SnmpError(
                        SnmpErrorKind.MALFORMED, f"agent returned non-increasing OID {varbind.oid}"
                    )
                    return WalkResult(root_text, tuple(rows), error=error)
                if len(rows) >= max_rows:
                    return WalkResult(root_text, tuple(rows), truncated=True)
                rows.append(varbind)
                cursor = oid

    async def _request(
        self,
        target: SnmpTarget,
        kind: str,
        oids: tuple[str, ...],
        *,
        max_repetitions: int = 0,
    ) -> _Answer | SnmpError:
        response = await self._request_once(target, kind, oids, max_repetitions)
        if (
            target.version == "3"
            and isinstance(response, SnmpError)
            and response.kind in (SnmpErrorKind.TIMEOUT, SnmpErrorKind.AUTH)
        ):
            # The agent may have been replaced or reset since we discovered its engine ID:
            # discover it again and ask once more.
            realm = await self._realm_for(target)
            if realm.forget_peer_engine(target):
                log.info("SNMPv3 agent %s:%d: engine ID rediscovered", target.address, target.port)
                return await self._request_once(target, kind, oids, max_repetitions)
        return response

    async def _request_once(
        self,
        target: SnmpTarget,
        kind: str,
        oids: tuple[str, ...],
        max_repetitions: int,
    ) -> _Answer | SnmpError:
        if target.version != "3":
            reply = await self._community.request(target, kind, oids, max_repetitions)
            if isinstance(reply, SnmpError):
                return reply
            return _Answer(reply.error_status, reply.error_index, reply.varbinds)
        realm = await self._realm_for(target)
        try:
            target_info = realm.targets.info_for(target)
        except TargetConfigError as exc:
            return SnmpError(SnmpErrorKind.TRANSPORT, str(exc))
        except OSError as exc:
            return SnmpError(SnmpErrorKind.TRANSPORT, f"cannot open UDP socket: {exc.strerror}")
        varbinds = [(parse_oid(oid), univ.Null("")) for oid in oids]
        pending = _Pending()
        started_at = trio.current_time()
        try:
            if kind == "bulk":
                realm.bulk_generator.send_varbinds(
                    realm.engine,
                    target_info,
                    None,
                    b"",
                    0,
                    max_repetitions,
                    varbinds,
                    self._on_response,
                    pending,
                )
            else:
                generator = realm.get_generator if kind == "get" else realm.next_generator
                generator.send_varbinds(
                    realm.engine, target_info, None, b"", varbinds, self._on_response, pending
                )
        except StatusInformation as exc:
            return error_from_indication(exc.get("errorIndication", "sendFailed"))
        with trio.move_on_after(_deadline_for(target)):
            await pending.done.wait()
        response = pending.response
        if response is None:
            # pysnmp's own timer should have answered first; this is the safety net.
            return SnmpError(SnmpErrorKind.TIMEOUT, "no response (request deadline passed)")
        if response.indication is not None:
            if indication_name(
                response.indication
            ) == "requestTimedOut" and realm.sent_garbage_since(target, started_at):
                return SnmpError(
                    SnmpErrorKind.MALFORMED, "agent replied only with undecodable datagrams"
                )
            return error_from_indication(response.indication)
        decoded = varbinds_from_pysnmp(response.varbinds)
        if isinstance(decoded, SnmpError):
            return decoded
        return _Answer(response.error_status, response.error_index, decoded)

    def _on_response(
        self,
        snmp_engine: Any,
        send_request_handle: Any,
        error_indication: Any,
        error_status: Any,
        error_index: Any,
        varbinds: Any,
        pending: _Pending,
    ) -> None:
        pending.response = _RawResponse(
            error_indication, int(error_status or 0), int(error_index or 0), list(varbinds or ())
        )
        pending.done.set()

    async def _realm_for(self, target: SnmpTarget) -> EngineRealm:
        if self._nursery is None:
            raise RuntimeError("SnmpClient.run() must be started before requests are made")
        for realm in self._realms:
            if realm.accepts(target):
                return realm
        realm = EngineRealm()
        self._realms.append(realm)
        await self._nursery.start(realm.dispatcher.run)
        return realm


_TOO_BIG = object()  # a GET answered with error-status tooBig: split it


def _mismatch(asked: tuple[str, ...], received: tuple[str, ...]) -> SnmpError:
    if len(asked) != len(received):
        return SnmpError(
            SnmpErrorKind.MALFORMED,
            f"reply has {len(received)} OIDs for the {len(asked)} requested",
        )
    asked_oid, received_oid = next((a, r) for a, r in zip(asked, received, strict=True) if a != r)
    return SnmpError(
        SnmpErrorKind.MALFORMED, f"reply OID {received_oid} differs from the requested {asked_oid}"
    )


def _deadline_for(target: SnmpTarget) -> float:
    attempts = max(0, target.retries) + 1 + _DISCOVERY_ROUND_TRIPS
    return attempts * target.timeout + _DEADLINE_SLACK_S
