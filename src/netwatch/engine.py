"""The threshold engine: per-device alert state, one cycle at a time. Pure: takes `now`.

Phases: ok → pending (failing, inside hold-down) → alerting (incident open) → recovering
(checks OK, inside the recovery hold) → ok. A device whose parent or any ancestor is down in
the same cycle is *unreachable*: it pages nothing of its own and its hold-down restarts when
the ancestor comes back. A device inside a maintenance window (its own, or an ancestor's that
covers children) is in *maintenance*: no new incident opens, its hold-down keeps counting so
it pages at the first cycle after the window if it is still failing, and an open incident
whose device recovers inside the window resolves at once.

"Failing" here means failing at or above the device's `page_from` level: a device that only
has warnings under `page_from = "critical"` is OK as far as paging goes, so the incident it
had while critical resolves normally.

A device that changes between failing and OK more than `flapping.changes` times within
`flapping.window` is *flapping*: its incident stays open (no resolve, no new trigger) until it
calms down, and the summary says so.
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
from netwatch.maintenance import in_maintenance
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
    MAINTENANCE = "maintenance"


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
    # failing at or above page_from, as of the last cycle
    bad: bool = False
    # consecutive polls with data that were failing / OK (for hold_down_polls/recovery_polls)
    bad_polls: int = 0
    good_polls: int = 0
    # times of changes between failing and OK inside the flapping window, oldest first
    flap_changes: tuple[float, ...] = ()
    flapping: bool = False
    in_maintenance: bool = False
    # the SNMP profile the last reading went through: for profile = "auto", the detected one
    profile: str = ""
    profile_reason: str = ""


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


def allowance_for(hold: float) -> float:
    """Slack for scheduling jitter; a tenth of short holds, so a 2 s hold at a 1 s interval
    (tests, labs) still needs its third poll."""
    return min(SCHEDULING_ALLOWANCE, hold / 10)


def held(since: float | None, now: float, hold: float) -> bool:
    return since is not None and now - since + allowance_for(hold) >= hold


def hold_met(
    since: float | None, polls: int, now: float, seconds: float, polls_needed: int | None
) -> bool:
    """A hold expressed in polls (when configured) or in seconds."""
    if polls_needed is not None:
        return polls >= polls_needed
    return held(since, now, seconds)


def _page_level(device: DeviceConfig) -> Level:
    return Level.CRITICAL if device.page_from == "critical" else Level.WARNING


def _bad(verdicts: Iterable[CheckVerdict], down: bool, at_least: Level) -> tuple[bool, bool]:
    """(failing at or above `at_least`, and that is known from this very poll)."""
    relevant = [
        v
        for v in verdicts
        if v.level >= at_least and (not down or v.check == REACHABILITY) and (v.known or not down)
    ]
    return bool(relevant), any(v.known for v in relevant)


def _flap_history(
    device: DeviceConfig, state: DeviceState, bad: bool, now: float
) -> tuple[tuple[float, ...], bool]:
    changes = state.flap_changes
    if bad != state.bad:
        changes = (*changes, now)
    settings = device.flapping
    changes = tuple(t for t in changes if now - t < settings.window)
    flapping = settings.changes > 0 and len(changes) > settings.changes
    return changes, flapping


def advance_device(
    device: DeviceConfig,
    state: DeviceState,
    sample: Sample | None,
    now: float,
    *,
    maintenance: bool = False,
) -> DeviceState:
    """The device's own state after this sample, ignoring its parents."""
    checks = judge_sample(device, sample, state.checks)
    down = is_down(checks)
    failing = failing_checks(checks, down=down)
    bad, bad_known = _bad(checks.values(), down, _page_level(device))
    polled = any(v.known for v in checks.values())
    flap_changes, flapping = _flap_history(device, state, bad, now)
    profile, profile_reason = _profile_in_use(state, sample)
    base = replace(
        state,
        checks=checks,
        down=down,
        failing=failing,
        last_sample_at=sample.at if sample else state.last_sample_at,
        profile=profile,
        profile_reason=profile_reason,
        bad=bad,
        flap_changes=flap_changes,
        flapping=flapping,
        in_maintenance=maintenance,
    )
    if bad:
        since = state.failing_since if state.failing_since is not None else now
        polls = state.bad_polls + (1 if polled else 0)
        failing_base = replace(
            base, failing_since=since, ok_since=None, bad_polls=polls, good_polls=0
        )
        if state.incident_open:
            return replace(failing_base, phase=Phase.ALERTING)
        if maintenance:
            return replace(failing_base, phase=Phase.MAINTENANCE)
        # Stale levels alone (no data this poll) never open an incident: after a restart or
        # while an agent is silent, unknown is not a reason to page.
        if bad_known and hold_met(since, polls, now, device.hold_down, device.hold_down_polls):
            return replace(
                failing_base, phase=Phase.ALERTING, incident_open=True, incident_since=now
            )
        return replace(failing_base, phase=Phase.PENDING)
    if state.incident_open:
        ok_since = state.ok_since if state.ok_since is not None else now
        polls = state.good_polls + (1 if polled else 0)
        recovering = replace(
            base, ok_since=ok_since, good_polls=polls, bad_polls=0, failing_since=None
        )
        if maintenance or (
            not flapping and hold_met(ok_since, polls, now, device.recovery, device.recovery_polls)
        ):
            return replace(
                recovering,
                phase=Phase.MAINTENANCE if maintenance else Phase.OK,
                ok_since=None,
                good_polls=0,
                incident_open=False,
                incident_since=None,
                flapping=False,
            )
        return replace(recovering, phase=Phase.RECOVERING)
    return replace(
        base,
        phase=Phase.MAINTENANCE if maintenance else Phase.OK,
        failing_since=None,
        ok_since=None,
        bad_polls=0,
        good_polls=0,
    )


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
            device,
            states.get(device_id, DeviceState()),
            samples.get(device_id),
            now,
            maintenance=in_maintenance(device_id, by_id, now),
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
            state = replace(
                state,
                phase=Phase.UNREACHABLE,
                failing_since=None,
                ok_since=None,
                bad_polls=0,
                good_polls=0,
            )
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


def resume_after_gap(
    states: Mapping[str, DeviceState], *, last_cycle_at: float | None, now: float, interval: float
) -> dict[str, DeviceState]:
    """States loaded from the store, made safe to continue at `now`.

    Open incidents stay open (no new hold-down, no second incident). If netwatch was away for
    more than two intervals, nobody watched in between: hold-down and recovery progress start
    again from the next poll, so nothing fires on the strength of a failure seen long ago and
    nothing resolves on an OK seen long ago."""
    if last_cycle_at is None or now - last_cycle_at <= 2 * interval + SCHEDULING_ALLOWANCE:
        return dict(states)
    return {
        device_id: replace(
            state,
            # An open incident has been failing since then, whoever watched: the NOC view and
            # the page's details must not shrink an outage to the time since the restart.
            failing_since=state.failing_since if state.incident_open else None,
            ok_since=None,
            bad_polls=0,
            good_polls=0,
            phase=state.phase if state.incident_open else Phase.OK,
        )
        for device_id, state in states.items()
    }


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
    alert = DeviceAlert(
        device_id=device.id,
        name=device.name,
        address=device.address,
        site=device.site,
        failing=state.failing,
        since=state.failing_since
        if state.failing_since is not None
        else state.incident_since or 0.0,
        unreachable_children=tuple(sorted(behind)),
        flapping=state.flapping,
    )
    mapping = {Level.WARNING: device.severity.warning, Level.CRITICAL: device.severity.critical}
    return replace(alert, severity=mapping.get(alert.level))


def _profile_in_use(state: DeviceState, sample: Sample | None) -> tuple[str, str]:
    snmp = sample.snmp if sample else None
    if snmp is None or not snmp.profile:
        return state.profile, state.profile_reason
    return snmp.profile, snmp.profile_reason
