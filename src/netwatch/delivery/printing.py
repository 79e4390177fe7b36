"""The dry-run channel: print each event instead of sending it (no routing key configured)."""

from __future__ import annotations

import json
import sys
from typing import Final, TextIO

import trio

from netwatch.events import Event

DRY_RUN_HEADER: Final = "--- would send to PagerDuty (dry run: no routing key) ---"
ROUTING_KEY_PLACEHOLDER: Final = "<routing key: not configured>"


class PrintingSender:
    """Prints every submitted event as indented JSON under a one-line header."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def submit(self, event: Event) -> None:
        shown = {**event, "routing_key": ROUTING_KEY_PLACEHOLDER}
        stream = self._stream if self._stream is not None else sys.stdout
        stream.write(f"{DRY_RUN_HEADER}\n{json.dumps(shown, indent=2, ensure_ascii=False)}\n")
        stream.flush()

    def pending(self) -> int:
        return 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep_forever()
