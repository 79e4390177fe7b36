"""The threshold engine: per-device alert state, one cycle at a time. Pure: takes `now`.

Phases: ok → pending (failing, inside hold-down) → alerting (incident open) → recovering
(checks OK, inside the recovery hold) → ok. A device whose parent or any ancestor is down in
the same cycle is *unreachable*: it pages nothing of its own and its hold-down restarts when
the ancestor comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from netwatch.alerts import DeviceAlert, FailingCheck, Level
from netwatch.checks import (
    REACHABILITY,
    CheckVerdict,
    failing_checks,
    is_down,
    judge_sample,
)
from netwatch.inventory import DeviceConfig
from netwatch.samples import Sample

# Polls scheduled every 60 s land a few hundred ms early or late; a 2-minute hold-down must
# still fire on the third failing poll, not the fourth.
SCHEDULING_ALLOWANCE = 1.0


class Phase(StrEnum):
    OK = "ok"
    PENDING = "pending"
    ALERTING = "alerting"
    RECOVERING = "recovering"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class DeviceState:
    phase: Phase = Phase.OK
    failing_since: float | None = None
    ok_since: float | None = None
    incident_open: bool = False
    incident_since: float | None = None
    down: bool = False
    checks: Mapping[str, CheckVerdict] = field(default_factory=dict)
    failing: tuple[FailingCheck, ...] = ()
    last_sample_at: float | None = None


class TransitionKind(StrEnum):
    TRIGGERED = "triggered"
    RESOLVED = "resolved"
    PHASE = "phase"


@dataclass(frozen=True, slots=True)
class Transition:
    device_id: str
    kind: TransitionKind
    before: Phase
    after: Phase
    at: float


@dataclass(frozen=True)
class CycleOutcome:
    states: dict[str, DeviceState]
    transitions: list[Transition]
    alerts: list[DeviceAlert]  # every device with an open incident that may page now
    resolved: list[str]  # device ids whose incident closed in this cycle


def held(since: float | None, now: float, hold: float) -> bool:
    return since is not None and now - since + SCHEDULING_ALLOWANCE >= hold


def advance_device(
    device: DeviceConfig, state: DeviceState, sample: Sample | None, now: float
) -> DeviceState:
    """The device's own state after this sample, ignoring its parents."""
    checks = judge_sample(device, sample, state.checks)
    down = is_down(checks)
    failing = failing_checks(checks, down=down)
    base = replace(
        state,
        checks=checks,
        down=down,
        failing=failing,
        last_sample_at=sample.at if sample else state.last_sample_at,
    )
    if failing:
        since = state.failing_since if state.failing_since is not None else now
        if state.incident_open:
            return replace(base, phase=Phase.ALERTING, failing_since=since, ok_since=None)
        if held(since, now, device.hold_down):
            return replace(
                base,
                phase=Phase.ALERTING,
                failing_since=since,
                ok_since=None,
                incident_open=True,
                incident_since=now,
            )
        return replace(base, phase=Phase.PENDING, failing_since=since, ok_since=None)
    if state.incident_open:
        ok_since = state.ok_since if state.ok_since is not None else now
        if held(ok_since, now, device.recovery):
            return replace(
                base,
                phase=Phase.OK,
                failing_since=None,
                ok_since=None,
                incident_open=False,
                incident_since=None,
            )
        return replace(base, phase=Phase.RECOVERING, ok_since=ok_since)
    return replace(base, phase=Phase.OK, failing_since=None, ok_since=None)


def topmost_down_ancestor(
    device_id: str, devices: Mapping[str, DeviceConfig], down: set[str]
) -> str | None:
    """The highest ancestor that is down this cycle, or None. Cycles are rejected at load;
    the visited set only guards against a hand-built inventory."""
    found = None
    visited = {device_id}
    parent = devices[device_id].parent
    while parent is not None and parent in devices and parent not in visited:
        visited.add(parent)
        if parent in down:
            found = parent
        parent = devices[parent].parent
    return found


def run_cycle(
    devices: Sequence[DeviceConfig],
    states: Mapping[str, DeviceState],
    samples: Mapping[str, Sample],
    now: float,
) -> CycleOutcome:
    by_id = {d.id: d for d in devices if d.enabled}
    own = {
        device_id: advance_device(
            device, states.get(device_id, DeviceState()), samples.get(device_id), now
        )
        for device_id, device in by_id.items()
        if device_id in samples
    }
    # A device without a sample this cycle keeps its last known state: unknown is not OK, so
    # the children of a silent, last-known-down parent stay unreachable and page nothing.
    current = {
        device_id: own[device_id] if device_id in own else states[device_id]
        for device_id in by_id
        if device_id in own or device_id in states
    }
    down = {device_id for device_id, state in current.items() if _down_for_children(state)}
    behind: dict[str, list[str]] = {}
    new_states: dict[str, DeviceState] = dict(states)
    for device_id, state in current.items():
        ancestor = topmost_down_ancestor(device_id, by_id, down)
        if ancestor is not None:
            behind.setdefault(ancestor, []).append(device_id)
            state = replace(state, phase=Phase.UNREACHABLE, failing_since=None, ok_since=None)
            # An incident opened in this very cycle is not the child's own to open.
            if not states.get(device_id, DeviceState()).incident_open:
                state = replace(state, incident_open=False, incident_since=None)
        new_states[device_id] = state

    transitions: list[Transition] = []
    resolved: list[str] = []
    for device_id, state in new_states.items():
        before = states.get(device_id, DeviceState())
        if device_id not in by_id:
            if before.incident_open:
                # Removed from the inventory (or disabled) while alerting: close its incident.
                new_states[device_id] = DeviceState()
                resolved.append(device_id)
                transitions.append(
                    Transition(device_id, TransitionKind.RESOLVED, before.phase, Phase.OK, now)
                )
            continue
        transitions.extend(_transitions(device_id, before, state, now))
        if before.incident_open and not state.incident_open:
            resolved.append(device_id)
    for device_id in [d for d in new_states if d not in by_id]:
        if not new_states[device_id].incident_open:
            del new_states[device_id]

    alerts = [
        _alert(by_id[device_id], state, behind.get(device_id, ()))
        for device_id, state in new_states.items()
        if device_id in by_id and state.incident_open and state.phase is not Phase.UNREACHABLE
    ]
    return CycleOutcome(new_states, transitions, alerts, resolved)


def _down_for_children(state: DeviceState) -> bool:
    """Down this cycle, or down when last heard of and no ping data since (unknown)."""
    reach = state.checks.get(REACHABILITY)
    stale_down = reach is not None and not reach.known and reach.level is Level.CRITICAL
    return state.down or stale_down


def _transitions(
    device_id: str, before: DeviceState, after: DeviceState, now: float
) -> Iterable[Transition]:
    if not before.incident_open and after.incident_open:
        yield Transition(device_id, TransitionKind.TRIGGERED, before.phase, after.phase, now)
    elif before.incident_open and not after.incident_open:
        yield Transition(device_id, TransitionKind.RESOLVED, before.phase, after.phase, now)
    elif before.phase is not after.phase:
        yield Transition(device_id, TransitionKind.PHASE, before.phase, after.phase, now)


def _alert(device: DeviceConfig, state: DeviceState, behind: Iterable[str]) -> DeviceAlert:
    return DeviceAlert(
        device_id=device.id,
        name=device.name,
        address=device.address,
        site=device.site,
        failing=state.failing,
        since=state.failing_since
        if state.failing_since is not None
        else state.incident_since or 0.0,
        unreachable_children=tuple(sorted(behind)),
    )
