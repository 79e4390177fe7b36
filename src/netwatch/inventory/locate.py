"""Line numbers for inventory errors. tomllib gives none for values, so find them in the text:
the `[[devices]]` header of the N-th device, then the `key =` line inside its block."""

from __future__ import annotations

import re

_TABLE_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")
_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*devices\s*\]\]")


class SourceLines:
    def __init__(self, text: str) -> None:
        self._lines = text.splitlines()
        self._device_starts = [
            number for number, line in enumerate(self._lines, 1) if _ARRAY_HEADER.match(line)
        ]

    def device_line(self, index: int) -> int | None:
        if 0 <= index < len(self._device_starts):
            return self._device_starts[index]
        return None

    def key_line(
        self, key: str, *, device_index: int | None = None, table: str | None = None
    ) -> int | None:
        """Line of `key = ...` inside a device block or a named table, else None."""
        if device_index is not None:
            start = self.device_line(device_index)
            if start is None:
                return None
        elif table is not None:
            start = self.table_line(table)
            if start is None:
                return None
        else:
            start = 0
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=|[{{,]\s*{re.escape(key)}\s*=")
        for number in range(start + 1, len(self._lines) + 1):
            line = self._lines[number - 1]
            if number > start + 1 and device_index is not None and _ARRAY_HEADER.match(line):
                break
            # A named table ends at the next header: its key must not be found in a later one.
            if number > start and table is not None and _TABLE_HEADER.match(line):
                break
            if pattern.search(line):
                return number
        return start or None

    def table_line(self, table: str) -> int | None:
        for number, line in enumerate(self._lines, 1):
            match = _TABLE_HEADER.match(line)
            if match and match.group(1).replace(" ", "") == table:
                return number
        return None
