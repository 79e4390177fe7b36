"""Turn a DeviceAlert into PagerDuty Events API v2 JSON (pure: no I/O, `now` is an argument).

Limits below are PagerDuty's (see shared/pagerduty/BEHAVIOUR.md): a summary over 1024
characters, a dedup_key over 255 characters or an event over 512 KB is rejected with 400.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from netwatch.alerts import DeviceAlert, FailingCheck, Level

Event = dict[str, Any]

DEDUP_KEY_MAX_CHARS: Final = 255
SUMMARY_MAX_CHARS: Final = 1024
EVENT_MAX_BYTES: Final = 512_000
# source/group/component/class come from the inventory, which has no length limit of its own;
# capping them keeps every event far below EVENT_MAX_BYTES once custom_details is shed.
FIELD_MAX_CHARS: Final = 255
DEDUP_KEY_PREFIX: Final = "netwatch/"
CLIENT_NAME: Final = "netwatch"

_HASH_CHARS: Final = 16
_HASH_SEPARATOR: Final = "~"
_ELLIPSIS: Final = "…"
_CHECK_SEPARATOR: Final = "; "

# PagerDuty accepts exactly critical, error, warning and info. Level.OK never reaches a
# trigger in practice; mapping it to "info" keeps the event valid should it ever do.
SEVERITY_FOR_LEVEL: Final[dict[Level, str]] = {
    Level.CRITICAL: "critical",
    Level.WARNING: "warning",
    Level.OK: "info",
}
PAGERDUTY_SEVERITIES: Final = frozenset({"critical", "error", "warning", "info"})


def dedup_key_for(device_id: str) -> str:
    """The PagerDuty dedup_key of a device's one incident.

    `netwatch/<device_id>` when that is at most 254 characters, so keys stay readable in
    PagerDuty and cannot clash with another tool's keys on the same service. A longer id
    becomes `netwatch/<first 229 chars of the id>~<16 hex of sha256(id)>`, exactly 255
    characters; since readable keys are never 255 long, the two forms cannot collide.
    The key depends on the device id only (no severity, no time), so the trigger, every
    re-send and the resolve all address the same alert.
    """
    if not device_id:
        raise ValueError("device_id must not be empty")
    readable = DEDUP_KEY_PREFIX + device_id
    if len(readable) < DEDUP_KEY_MAX_CHARS:
        return readable
    digest = hashlib.sha256(device_id.encode("utf-8")).hexdigest()[:_HASH_CHARS]
    room = DEDUP_KEY_MAX_CHARS - len(DEDUP_KEY_PREFIX) - len(_HASH_SEPARATOR) - _HASH_CHARS
    return f"{DEDUP_KEY_PREFIX}{device_id[:room]}{_HASH_SEPARATOR}{digest}"


def routing_key_fingerprint(routing_key: str) -> str:
    """How a routing key is named in logs, the store and status output: 16 hex digits of its
    SHA-256, stable and not reversible (a routing key is a secret)."""
    return hashlib.sha256(routing_key.encode("utf-8")).hexdigest()[:16]


def worst_first(checks: Iterable[FailingCheck]) -> list[FailingCheck]:
    """Failing checks, most severe first; equal levels keep the engine's order."""
    return sorted(checks, key=lambda check: check.level, reverse=True)


def describe_check(check: FailingCheck) -> str:
    """One failing check as a person reads it.

    `cpu 95.0 % ≥ 90 % (critical)`, `temperature 81.0 °C ≥ 75 °C (warning, sensor 'cpu')`,
    or for checks without a number `snmp: timeout (critical)`.
    """
    level = _level_name(check.level)
    if check.value is None:
        subject = f"{check.check}: {check.detail}" if check.detail else check.check
        return f"{subject} ({level})"
    measured = f"{check.check} {_with_unit(f'{check.value:.1f}', check.unit)}"
    if check.threshold is not None:
        limit = _with_unit(f"{check.threshold:g}", check.unit)
        # Hysteresis holds a raised level a little below its threshold; never claim "77.5 ≥ 80".
        held = check.value < check.threshold
        measured += f", raised at ≥ {limit} and held until it clears" if held else f" ≥ {limit}"
    notes = f"{level}, {check.detail}" if check.detail else level
    return f"{measured} ({notes})"


def fold_failing_checks(alert: DeviceAlert) -> str:
    """The incident summary: the device and every failing check, worst first.

    Never longer than 1024 characters. When the checks do not fit, whole checks are left
    out from the least severe end and replaced by `… +N more`; the note about unreachable
    children is always kept. Cuts are on whole characters (Python str), so a multi-byte
    UTF-8 character is never split.
    """
    head = f"{_device_label(alert)}: " + ("flapping: " if alert.flapping else "")
    checks = [describe_check(check) for check in worst_first(alert.failing)]
    if not checks:
        checks = [
            "all checks OK now, keeps changing state"
            if alert.flapping
            else "alerting, no failing check reported"
        ]
    tail = _children_note(len(alert.unreachable_children))

    full = head + _CHECK_SEPARATOR.join([*checks, *tail])
    if len(full) <= SUMMARY_MAX_CHARS:
        return full
    for kept in range(len(checks) - 1, 0, -1):
        more = f"{_ELLIPSIS} +{len(checks) - kept} more"
        candidate = head + _CHECK_SEPARATOR.join([*checks[:kept], more, *tail])
        if len(candidate) <= SUMMARY_MAX_CHARS:
            return candidate
    return _cut(full, SUMMARY_MAX_CHARS)


def iso_utc(epoch_seconds: float) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. `2026-12-03T13:55:48.000Z`."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def trigger_event(
    alert: DeviceAlert,
    *,
    routing_key: str,
    now: float,
    links: Sequence[tuple[str, str]] = (),
) -> Event:
    """The trigger (or re-send) for an alerting device; `links` are (href, text) pairs."""
    worst = worst_first(alert.failing)
    payload: dict[str, Any] = {
        "summary": fold_failing_checks(alert),
        "severity": alert.severity or SEVERITY_FOR_LEVEL[alert.level],
        "source": _cap(alert.address or alert.device_id),
        "timestamp": iso_utc(now),
        "component": _cap(alert.name or alert.device_id),
        "custom_details": _custom_details(alert),
    }
    if alert.site is not None:
        payload["group"] = _cap(alert.site)
    if worst:
        payload["class"] = _cap(worst[0].check)
    event: Event = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key_for(alert.device_id),
        "client": CLIENT_NAME,
        "payload": payload,
    }
    if links:
        event["links"] = [{"href": href, "text": text} for href, text in links]
    return fit_event_size(event)


def resolve_event(device_id: str, *, routing_key: str) -> Event:
    """The resolve for a device that recovered (PagerDuty needs no payload for it)."""
    return {
        "routing_key": routing_key,
        "event_action": "resolve",
        "dedup_key": dedup_key_for(device_id),
    }


def acknowledge_event(
    device_id: str, *, routing_key: str, now: float, note: str | None = None
) -> Event:
    """The acknowledge for a device's open incident ("I have it"). The Events API has no
    field for a note on an acknowledge: it goes into the event's payload, which PagerDuty
    keeps in the alert's log, and netwatch logs it."""
    summary = f"acknowledged from netwatch: {note}" if note else "acknowledged from netwatch"
    return {
        "routing_key": routing_key,
        "event_action": "acknowledge",
        "dedup_key": dedup_key_for(device_id),
        "client": CLIENT_NAME,
        "payload": {
            "summary": _cut(summary, SUMMARY_MAX_CHARS),
            "severity": "info",
            "source": _cap(device_id),
            "timestamp": iso_utc(now),
        },
    }


def event_bytes(event: Event) -> bytes:
    """The exact bytes sent on the wire; the size limit is checked against these."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fit_event_size(event: Event, max_bytes: int = EVENT_MAX_BYTES) -> Event:
    """The event itself when small enough, else a copy with custom_details shed step by step.

    Order of shedding (peers drop custom_details first): the unreachable-children list,
    then failing-check entries from the least severe end, then custom_details except
    `failing_since`, then links. Each step records what it left out.
    """
    if len(event_bytes(event)) <= max_bytes:
        return event
    for candidate in _shed_candidates(event):
        if len(event_bytes(candidate)) <= max_bytes:
            return candidate
    raise ValueError("event exceeds the size limit even without custom_details and links")


def _custom_details(alert: DeviceAlert) -> dict[str, Any]:
    return {
        "device_id": alert.device_id,
        "name": alert.name,
        "address": alert.address,
        "site": alert.site,
        "failing_checks": [_check_details(check) for check in worst_first(alert.failing)],
        "failing_since": iso_utc(alert.since),
        "unreachable_children": list(alert.unreachable_children),
    }


def _check_details(check: FailingCheck) -> dict[str, Any]:
    return {
        "check": check.check,
        "value": check.value,
        "unit": check.unit,
        "threshold": check.threshold,
        "level": _level_name(check.level),
        "detail": check.detail,
    }


def _shed_candidates(event: Event) -> Iterable[Event]:
    details: dict[str, Any] = dict(event["payload"].get("custom_details", {}))
    children: list[str] = list(details.get("unreachable_children", []))
    checks: list[dict[str, Any]] = list(details.get("failing_checks", []))

    kept_children = len(children)
    while kept_children > 0:
        kept_children //= 2
        details = {
            **details,
            "unreachable_children": children[:kept_children],
            "unreachable_children_total": len(children),
        }
        yield _with_details(event, details)

    for kept_checks in range(len(checks) - 1, -1, -1):
        details = {
            **details,
            "failing_checks": checks[:kept_checks],
            "failing_checks_total": len(checks),
        }
        yield _with_details(event, details)

    minimal = {
        "failing_since": details.get("failing_since"),
        "shed": "custom_details left out: event over PagerDuty's 512 KB limit",
    }
    yield _with_details(event, minimal)
    without_links = {key: value for key, value in event.items() if key != "links"}
    yield _with_details(without_links, minimal)


def _with_details(event: Event, details: dict[str, Any]) -> Event:
    return {**event, "payload": {**event["payload"], "custom_details": details}}


def _device_label(alert: DeviceAlert) -> str:
    name = alert.name or alert.device_id
    if not alert.address or alert.address == name:
        return name
    return f"{name} ({alert.address})"


def _children_note(count: int) -> list[str]:
    if count == 0:
        return []
    noun = "device" if count == 1 else "devices"
    return [f"{count} {noun} behind it unreachable"]


def _with_unit(number: str, unit: str) -> str:
    return f"{number} {unit}" if unit else number


def _level_name(level: Level) -> str:
    return level.name.lower()


def _cap(text: str, limit: int = FIELD_MAX_CHARS) -> str:
    return text if len(text) <= limit else _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(_ELLIPSIS)] + _ELLIPSIS
