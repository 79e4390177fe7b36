"""One pysnmp SnmpEngine (SNMPv3 only) with its trio dispatcher, target configuration and
generators. SNMPv1/v2c do not go through pysnmp: see community_transport.py."""

from __future__ import annotations

import logging
from typing import Any

import trio
from pysnmp.entity.engine import SnmpEngine

from netwatch.snmp import direct_send
from netwatch.snmp.engine_targets import EngineTargets
from netwatch.snmp.hex_dump import short_hex_dump
from netwatch.snmp.target import SnmpTarget
from netwatch.snmp.trio_carrier import TrioDispatcher

log = logging.getLogger(__name__)


class EngineRealm:
    """An SNMP engine and everything that must share its tables.

    It also remembers which agents sent datagrams the engine could not decode, so that a
    request ending in a timeout can be reported as the malformed reply it really was.
    """

    def __init__(self) -> None:
        self.engine = SnmpEngine()
        self.dispatcher = TrioDispatcher()
        self.engine.register_transport_dispatcher(self.dispatcher)
        self.targets = EngineTargets(self.engine)
        self.get_generator: Any = direct_send.GetCommandGenerator()
        self.next_generator: Any = direct_send.NextCommandGenerator()
        self.bulk_generator: Any = direct_send.BulkCommandGenerator()
        # pysnmp counts and silently drops undecodable messages (RFC 3412 §4.2.1.2).
        self._rejection_counters = self.engine.get_mib_builder().import_symbols(
            "__SNMPv2-MIB", "snmpInASNParseErrs", "snmpInBadVersions"
        )
        self._rejections_seen = self._rejections()
        self._last_garbage_from: dict[tuple[str, int], float] = {}
        self.dispatcher.after_datagram = self._note_datagram

    def accepts(self, target: SnmpTarget) -> bool:
        return self.targets.accepts(target)

    def forget_peer_engine(self, target: SnmpTarget) -> bool:
        """Drop the agent's cached SNMPv3 engine ID, so the next request discovers it again.

        pysnmp keeps a discovered engine ID per agent address for 300 s and, when the agent
        has since been replaced or reset (new engine ID; net-snmp then reports
        usmStatsUnknownUserNames), keeps failing until that entry expires. The cache is a
        private attribute of pysnmp 7.1's SnmpV3MessageProcessingModel (the minor is pinned).
        """
        model = self.engine.message_processing_subsystems.get(3)
        cache = getattr(model, "_SnmpV3MessageProcessingModel__engineIdCache", None)
        if not isinstance(cache, dict):
            return False
        stale = [
            key
            for key in cache
            if len(key) == 2 and tuple(key[1])[:2] == (target.address.split("%", 1)[0], target.port)
        ]
        for key in stale:
            del cache[key]
        return bool(stale)

    def sent_garbage_since(self, target: SnmpTarget, since: float) -> bool:
        seen_at = self._last_garbage_from.get((target.address, target.port))
        return seen_at is not None and seen_at >= since

    def _note_datagram(
        self, sender: tuple[Any, ...], message: bytes, failure: BaseException | None
    ) -> None:
        rejections = self._rejections()
        if failure is not None or rejections != self._rejections_seen:
            self._last_garbage_from[(str(sender[0]), int(sender[1]))] = trio.current_time()
            log.warning(
                "dropped undecodable SNMP reply from %s:%s (%d bytes%s): %s",
                sender[0],
                sender[1],
                len(message),
                f", {type(failure).__name__}" if failure is not None else "",
                short_hex_dump(message),
            )
        self._rejections_seen = rejections

    def _rejections(self) -> int:
        return sum(int(counter.syntax) for counter in self._rejection_counters)
