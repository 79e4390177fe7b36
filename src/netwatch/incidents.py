"""What one cycle adds to each device's incident history. Pure.

An incident is *opened* when the engine triggers it, gets a *summary* entry whenever the
notifier sends a trigger whose substance changed (checks, levels, children behind it,
flapping, severity; not a plain re-send with fresher numbers), and is *resolved* once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from netwatch.engine import CycleOutcome, TransitionKind
from netwatch.events import Event, dedup_key_for
from netwatch.notifier import fingerprint


class EntryKind(StrEnum):
    OPENED = "opened"
    SUMMARY = "summary"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    device_id: str
    at: float
    kind: EntryKind
    summary: str = ""


def history_entries(
    outcome: CycleOutcome,
    events: Sequence[Event],
    fingerprints_before: Mapping[str, str],
    now: float,
) -> list[HistoryEntry]:
    """`fingerprints_before`: the notifier's last-sent fingerprint per dedup key before this
    cycle's events."""
    summaries = {
        e["dedup_key"]: e["payload"]["summary"] for e in events if e["event_action"] == "trigger"
    }
    opened = {t.device_id for t in outcome.transitions if t.kind is TransitionKind.TRIGGERED}
    entries = [HistoryEntry(device_id, now, EntryKind.RESOLVED) for device_id in outcome.resolved]
    for alert in outcome.alerts:
        key = dedup_key_for(alert.device_id)
        summary = summaries.get(key)
        if alert.device_id in opened:
            entries.append(HistoryEntry(alert.device_id, now, EntryKind.OPENED, summary or ""))
        elif summary is not None and fingerprints_before.get(key) != fingerprint(alert):
            entries.append(HistoryEntry(alert.device_id, now, EntryKind.SUMMARY, summary))
    return entries
