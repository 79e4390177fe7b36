"""OCTET STRINGs as text for people. Pure, and never raises on bytes from the wire.

Agents send DisplayStrings in whatever encoding their firmware uses: UTF-8 mostly, cp1252
from Windows-configured names (`®` as \\xae), and sometimes bytes that are text in no
encoding. sysDescr may carry CR LF line breaks (Cisco) and trailing NULs.
"""

from __future__ import annotations

import unicodedata

_MOSTLY_BINARY = 0.3


def decode_text(raw: bytes) -> str:
    """UTF-8, else cp1252, else Latin-1 (every byte is a character): the first that fits."""
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def display_text(raw: bytes) -> str:
    """Readable text: trailing NULs and blanks removed, CR LF → LF, other control characters
    shown as `\\xNN`; a value that is mostly not text is shown as hex (`0x…`)."""
    trimmed = raw.rstrip(b"\x00")
    text = decode_text(trimmed).replace("\r\n", "\n").replace("\r", "\n")
    unprintable = sum(1 for char in text if _is_control(char) and char not in "\n\t")
    if text and unprintable / len(text) > _MOSTLY_BINARY:
        return "0x" + trimmed.hex()
    shown = "".join(
        f"\\x{ord(char):02x}" if _is_control(char) and char not in "\n\t" else char for char in text
    )
    return "\n".join(line.rstrip() for line in shown.strip().split("\n"))


def one_line(raw: bytes, *, separator: str = " | ") -> str:
    """`display_text` on one line, for logs and tables: non-empty lines joined."""
    return separator.join(line.strip() for line in display_text(raw).split("\n") if line.strip())


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn")
