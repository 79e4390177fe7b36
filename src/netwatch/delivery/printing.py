"""The dry-run channel: print each event instead of sending it (no routing key configured)."""

from __future__ import annotations

import json
import sys
from typing import Final, TextIO

import trio

from netwatch.events import Event

DRY_RUN_HEADER: Final = "--- would send to PagerDuty (dry run: no routing key) ---"
ROUTING_KEY_PLACEHOLDER: Final = "<routing key: not configured>"
RESEND_LINE: Final = "--- would re-send to PagerDuty: trigger"


class PrintingSender:
    """Prints every submitted event as indented JSON under a one-line header. A trigger that
    repeats the last one printed for its incident (the once-a-minute re-send) is one line, so
    new pages, changes and resolves stand out."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._last_trigger: dict[str, tuple[object, object]] = {}

    def submit(self, event: Event) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        key = str(event.get("dedup_key", ""))
        if event.get("event_action") == "trigger":
            payload = event.get("payload", {})
            shown_before = self._last_trigger.get(key)
            now_showing = (payload.get("summary"), payload.get("severity"))
            self._last_trigger[key] = now_showing
            if shown_before == now_showing:
                stream.write(f"{RESEND_LINE} {key} (unchanged)\n")
                stream.flush()
                return
        elif event.get("event_action") == "resolve":
            self._last_trigger.pop(key, None)
        shown = {**event, "routing_key": ROUTING_KEY_PLACEHOLDER}
        stream.write(f"{DRY_RUN_HEADER}\n{json.dumps(shown, indent=2, ensure_ascii=False)}\n")
        stream.flush()

    def pending(self) -> int:
        return 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep_forever()
