"""`netwatch history ID`: a device's incidents from the store, newest first."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from netwatch.inventory import Inventory
from netwatch.store import open_store
from netwatch.store.alert_state import AlertStateStore, IncidentRecord, state_db_path


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_incidents(device_id: str, records: Sequence[IncidentRecord]) -> str:
    if not records:
        return f"{device_id}: no incidents recorded"
    count = f"{len(records)} incident" + ("" if len(records) == 1 else "s")
    lines = [f"{device_id}: {count}, newest first (#: netwatch's incident number)"]
    for record in records:
        state = f"resolved {_when(record.resolved_at)}" if record.resolved_at else "OPEN"
        lines.append(f"#{record.id} opened {_when(record.opened_at)}, {state}")
        for entry in record.entries:
            text = f": {entry.summary}" if entry.summary else ""
            lines.append(f"  {_when(entry.at)}  {entry.kind.value}{text}")
    return "\n".join(lines)


def show_history(
    inventory: Inventory, device_id: str, *, limit: int, as_json: bool, out: TextIO
) -> int:
    path = state_db_path(inventory)
    if not Path(path).exists():
        out.write(f"{device_id}: no state database yet at {path} (netwatch has not run)\n")
        return 1
    store = open_store(path)
    try:
        records = AlertStateStore(store).incidents(device_id, limit)
    finally:
        store.close()
    if as_json:
        out.write(json.dumps([r.as_json() for r in records], indent=2, ensure_ascii=False) + "\n")
    else:
        out.write(format_incidents(device_id, records) + "\n")
    return 0
