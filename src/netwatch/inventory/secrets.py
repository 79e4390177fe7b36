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
        path = _file_path(value, base_dir)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SecretReferenceError(f"cannot read {path}: {exc.strerror}") from None
        if data.endswith(b"\r\n"):
            return data[:-2]
        return data.removesuffix(b"\n")
    return value.encode()


def _file_path(value: str, base_dir: Path) -> Path:
    path = Path(value[len("file:") :]).expanduser()
    return path if path.is_absolute() else base_dir / path


def open_to_others(value: str, *, base_dir: Path) -> tuple[Path, int] | None:
    """The file and its mode, when a `file:` secret can be read (or changed) by the file's
    group or by everyone: the secret is only as safe as the file."""
    if not value.startswith("file:"):
        return None
    path = _file_path(value, base_dir)
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    return (path, mode) if mode & 0o077 else None
