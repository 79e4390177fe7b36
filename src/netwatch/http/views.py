"""The NOC's view of the monitor, as JSON-ready dicts. Pure: takes `now`.

Only what a technician needs; never an SNMP community, key, routing key or token (the
device's resolved settings are read field by field, never dumped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from netwatch.engine import DeviceState, Phase
from netwatch.events import dedup_key_for
from netwatch.inventory import DeviceConfig
from netwatch.samples import Sample
from netwatch.store.webhooks import StoredActivity

# Failing devices first: what needs a person now, then what may soon.
PHASE_ORDER = {
    Phase.ALERTING: 0,
    Phase.UNREACHABLE: 1,
    Phase.PENDING: 2,
    Phase.RECOVERING: 3,
    Phase.OK: 4,
}


def descendants(devices: Sequence[DeviceConfig]) -> dict[str, list[str]]:
    """Every device behind each device (children, their children, ...)."""
    children: dict[str, list[str]] = {}
    for device in devices:
        if device.parent is not None:
            children.setdefault(device.parent, []).append(device.id)
    found: dict[str, list[str]] = {}
    for device in devices:
        seen: list[str] = []
        stack = list(children.get(device.id, ()))
        while stack:
            child = stack.pop()
            if child in seen or child == device.id:
                continue
            seen.append(child)
            stack.extend(children.get(child, ()))
        found[device.id] = sorted(seen)
    return found


def device_view(
    device: DeviceConfig,
    state: DeviceState | None,
    sample: Sample | None,
    *,
    behind: Sequence[str],
    states: Mapping[str, DeviceState],
    activity: StoredActivity | None,
    now: float,
) -> dict[str, Any]:
    state = state or DeviceState()
    polled = state.last_sample_at
    unreachable_behind = [
        d for d in behind if (s := states.get(d)) is not None and s.phase is Phase.UNREACHABLE
    ]
    return {
        "id": device.id,
        "name": device.name,
        "address": device.address,
        "site": device.site,
        "parent": device.parent,
        "group": device.group,
        "profile": device.profile,
        # what polling actually uses: for profile = "auto", the detected profile and why
        "profile_in_use": state.profile or device.profile,
        "profile_reason": state.profile_reason,
        "enabled": device.enabled,
        "tags": list(device.tags),
        "snmp": {"version": device.snmp.version, "port": device.snmp.port}
        if device.uses_snmp and device.snmp is not None
        else None,
        "phase": state.phase.value if polled is not None else "unknown",
        "down": state.down,
        "failing": [
            {
                "check": c.check,
                "level": c.level.name.lower(),
                "value": c.value,
                "unit": c.unit,
                "threshold": c.threshold,
                "detail": c.detail,
            }
            for c in state.failing
        ],
        "failing_since": state.failing_since,
        "incident_open": state.incident_open,
        "incident_since": state.incident_since,
        "incident_key": dedup_key_for(device.id),
        "last_poll_at": polled,
        "last_poll_age": None if polled is None else max(0.0, now - polled),
        "behind": len(behind),
        "unreachable_behind": len(unreachable_behind),
        "readings": readings(sample),
        "activity": activity_view(activity, now),
    }


def readings(sample: Sample | None) -> dict[str, float | None]:
    found: dict[str, float | None] = {}
    if sample is None:
        return found
    if sample.ping is not None:
        found["loss_percent"] = sample.ping.loss_percent
        found["rtt_ms"] = sample.ping.rtt_avg_ms
    if sample.snmp is not None:
        for name, reading in sample.snmp.metrics.items():
            found[name] = reading.value
    return found


def activity_view(stored: StoredActivity | None, now: float) -> dict[str, Any] | None:
    """The latest thing a person did to the device's incident ("acknowledged by Jane")."""
    if stored is None:
        return None
    view = stored.as_json()
    view["age_seconds"] = max(0.0, now - stored.activity.occurred_at)
    return view


def sort_key(view: Mapping[str, Any]) -> tuple[int, str, str]:
    phase = view["phase"]
    order = PHASE_ORDER.get(Phase(phase), 5) if phase in Phase.__members__.values() else 5
    return (order, view["site"] or "", view["id"])


def devices_view(
    devices: Sequence[DeviceConfig],
    states: Mapping[str, DeviceState],
    samples: Mapping[str, Sample],
    activity: Mapping[str, StoredActivity],
    now: float,
) -> list[dict[str, Any]]:
    behind = descendants(devices)
    views = [
        device_view(
            device,
            states.get(device.id),
            samples.get(device.id),
            behind=behind.get(device.id, []),
            states=states,
            activity=activity.get(dedup_key_for(device.id)),
            now=now,
        )
        for device in devices
    ]
    return sorted(views, key=sort_key)
