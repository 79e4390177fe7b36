"""Secrets in the inventory are references, resolved at load time: env:NAME or file:PATH.

Values are kept as exact bytes: no shell, no expansion, so `Link$ysRO`, `#public` and
backslashes reach the SNMP library unchanged. A file's single trailing newline is dropped
because editors add one.
"""

from __future__ import annotations

import os
from pathlib import Path

REFERENCE_PREFIXES = ("env:", "file:")


class SecretReferenceError(ValueError):
    pass


def is_reference(value: str) -> bool:
    return value.startswith(REFERENCE_PREFIXES)


def resolve_secret(value: str, *, base_dir: Path) -> bytes:
    """The secret's bytes. Literal values (no prefix) are taken as they are."""
    if value.startswith("env:"):
        name = value[len("env:") :]
        if not name:
            raise SecretReferenceError("env: reference without a variable name")
        raw = os.environb.get(name.encode())
        if raw is None:
            raise SecretReferenceError(f"environment variable {name} is not set")
        return raw
    if value.startswith("file:"):
        path = Path(value[len("file:") :]).expanduser()
        if not path.is_absolute():
            path = base_dir / path
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SecretReferenceError(f"cannot read {path}: {exc.strerror}") from None
        if data.endswith(b"\r\n"):
            return data[:-2]
        return data.removesuffix(b"\n")
    return value.encode()
