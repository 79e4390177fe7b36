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
        # Every header's line, found once: looking them up per device made loading 10,000
        # devices quadratic (100 s).
        self._table_starts: dict[str, int] = {}
        self._array_starts: dict[str, list[int]] = {}
        for number, line in enumerate(self._lines, 1):
            match = _TABLE_HEADER.match(line)
            if match is None:
                continue
            name = match.group(1).replace(" ", "")
            self._table_starts.setdefault(name, number)
            if line.lstrip().startswith("[["):
                self._array_starts.setdefault(name, []).append(number)

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
        pattern = _key_pattern(key)
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

    def array_key_line(self, array: str, index: int, key: str | None) -> int | None:
        """Line of `key = ...` in the index-th `[[array]]` block (its header line if the key
        is not written there), e.g. the second `[[paging.routes]]`."""
        starts = self._array_starts.get(array, [])
        if not 0 <= index < len(starts):
            return None
        start = starts[index]
        if key is None:
            return start
        pattern = _key_pattern(key)
        for number in range(start + 1, len(self._lines) + 1):
            line = self._lines[number - 1]
            header = _TABLE_HEADER.match(line)
            if header and not header.group(1).replace(" ", "").startswith(array + "."):
                break
            if pattern.search(line):
                return number
        return start

    def table_line(self, table: str) -> int | None:
        return self._table_starts.get(table)


def _key_pattern(key: str) -> re.Pattern[str]:
    """`key =`, `"key" =`, a dotted `snmp.key =`, or `key =` inside an inline table."""
    name = re.escape(key)
    return re.compile(rf'^\s*(?:[A-Za-z0-9_\-"]+\.)*"?{name}"?\s*=|[{{,]\s*{name}\s*=')
