"""Numeric OID strings: parsing and subtree tests without pysnmp."""

from __future__ import annotations


def parse_oid(oid: str) -> tuple[int, ...]:
    """'1.3.6.1.2.1.1.1.0' (a leading dot is allowed) as a tuple of sub-identifiers."""
    text = oid.strip().lstrip(".")
    try:
        parts = tuple(int(part) for part in text.split("."))
    except ValueError:
        raise ValueError(f"not a numeric OID: {oid!r}") from None
    if len(parts) < 2 or any(part < 0 for part in parts):
        raise ValueError(f"not a numeric OID: {oid!r}")
    return parts


def format_oid(parts: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in parts)


def is_in_subtree(oid: tuple[int, ...], root: tuple[int, ...]) -> bool:
    return len(oid) > len(root) and oid[: len(root)] == root
