"""Undecodable datagrams as a short hex dump for the log, with secrets masked."""

from __future__ import annotations

from collections.abc import Iterable

_HEX_DUMP_BYTES = 48


def short_hex_dump(message: bytes, secrets: Iterable[bytes] = ()) -> str:
    """The first bytes of a datagram in hex, with every secret (a v1/v2c reply carries the
    community in clear) replaced by `2a 2a 2a` ("***")."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, b"***")
    shown = message[:_HEX_DUMP_BYTES].hex(" ")
    return shown + (
        f" … (+{len(message) - _HEX_DUMP_BYTES} bytes)" if len(message) > _HEX_DUMP_BYTES else ""
    )
