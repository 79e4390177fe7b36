"""`MODULE::symbol[.instance]` names resolved to numeric OIDs through the shipped MIB index.

The index (mib_index.json) is compiled ahead of time from the top-level `mibs/` folder by
tools/compile_mibs.py, so loading a profile needs neither pysmi nor the MIB files, and polls
use numeric OIDs only.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

from netwatch.snmp.oids import format_oid, parse_oid

NodeKind = Literal["scalar", "column", "table", "row", "node", "numeric"]
_NAME = re.compile(
    r"^(?P<module>[A-Za-z][A-Za-z0-9-]*)::(?P<symbol>[A-Za-z][A-Za-z0-9-]*)"
    r"(?P<instance>(\.[0-9]+)*)$"
)


_POLLED_NODES = ("scalar", "column", "table", "row")


class MibSymbolError(ValueError):
    """A name that is not `MODULE::symbol[.instance]` or a numeric OID, or that no shipped
    module defines."""


@dataclass(frozen=True, slots=True)
class ResolvedName:
    """What a name stands for: the OID to poll, the MIB node kind, the syntax if known."""

    name: str
    oid: str
    node: NodeKind
    syntax: str | None = None
    instance: str = ""

    @property
    def implied_kind(self) -> Literal["scalar", "table"] | None:
        """How the object is read when nobody says: a scalar or one instance with GET, a
        table column walked; a numeric OID ending in .0 is taken as a scalar instance."""
        if self.node == "scalar" or (self.instance and self.node != "numeric"):
            return "scalar"
        if self.node == "column":
            return "table"
        if self.node == "numeric" and self.oid.endswith(".0"):
            return "scalar"
        return None


@cache
def _index() -> dict[str, dict[str, Any]]:
    text = resources.files("netwatch.snmp").joinpath("mib_index.json").read_text("utf-8")
    modules: dict[str, dict[str, Any]] = json.loads(text)["modules"]
    return modules


def module_names() -> tuple[str, ...]:
    return tuple(sorted(_index()))


def resolve_name(name: str) -> ResolvedName:
    """`MIKROTIK-MIB::mtxrHlProcessorTemperature` (a scalar: instance .0 is implied),
    `HOST-RESOURCES-MIB::hrProcessorLoad` (a column), `…::ifDescr.3`, or `1.3.6.1.2.1.1.3.0`."""
    text = name.strip()
    if "::" not in text:
        try:
            return ResolvedName(text, format_oid(parse_oid(text)), "numeric")
        except ValueError:
            raise MibSymbolError(f"{name!r} is neither MODULE::symbol nor a numeric OID") from None
    match = _NAME.match(text)
    if match is None:
        raise MibSymbolError(f"{name!r} is not of the form MODULE::symbol[.instance]")
    module, symbol, instance = match["module"], match["symbol"], match["instance"]
    symbols = _index().get(module)
    if symbols is None:
        hint = _did_you_mean(module, module_names())
        raise MibSymbolError(f"unknown MIB module {module!r} in {name!r}{hint}")
    entry = symbols.get(symbol)
    if entry is None:
        hint = _did_you_mean(symbol, tuple(symbols))
        raise MibSymbolError(f"{module} defines no object {symbol!r}{hint}")
    node: NodeKind = entry["node"] if entry["node"] in _POLLED_NODES else "node"
    oid = entry["oid"]
    if instance:
        oid += instance
    elif node == "scalar":
        # A scalar's only instance is .0; profiles may name the object without it.
        instance = ".0"
        oid += instance
    return ResolvedName(f"{module}::{symbol}{instance}", oid, node, entry.get("syntax"), instance)


def name_for_oid(oid: str) -> str | None:
    """`oid` as the longest MIB name that prefixes it plus the instance, for people."""
    parts = oid.split(".")
    table = _by_oid()
    for cut in range(len(parts), 1, -1):
        found = table.get(".".join(parts[:cut]))
        if found is not None:
            rest = ".".join(parts[cut:])
            return found + (f".{rest}" if rest else "")
    return None


@cache
def _by_oid() -> dict[str, str]:
    table: dict[str, str] = {}
    # SNMPv2 names before their SNMPv1 (RFC1155-SMI, RFC1213-MIB) duplicates.
    for module in sorted(_index(), key=lambda name: (name.startswith("RFC"), name)):
        for symbol, entry in _index()[module].items():
            table.setdefault(entry["oid"], f"{module}::{symbol}")
    return table


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""
