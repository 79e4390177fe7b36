"""The pure threshold engine: (devices, states, samples, now) -> states, transitions, alerts.

Edge times are exact: polls every 60 s, hold-down and recovery 2 minutes unless a case says
otherwise."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netwatch.alerts import Level
from netwatch.checks import CPU, REACHABILITY, SNMP, TEMPERATURE, judge_sample
from netwatch.engine import (
    SCHEDULING_ALLOWANCE,
    CycleOutcome,
    DeviceState,
    Phase,
    TransitionKind,
    held,
    run_cycle,
)
from netwatch.inventory import DeviceConfig, parse_inventory
from netwatch.inventory import load as inventory_load
from netwatch.samples import (
    MetricReading,
    PingResult,
    Sample,
    SnmpError,
    SnmpErrorKind,
    SnmpReading,
)

# The engine does not care which profile data files are shipped; the inventory tests do.
_PROFILES = frozenset({"ping-only", "linux", "mikrotik", "host-resources"})


def inventory(text: str) -> list[DeviceConfig]:
    with mock.patch.object(inventory_load, "known_profiles", return_value=_PROFILES):
        return list(parse_inventory(text, Path("t.toml")).devices)


def device_toml(device_id: str, *, profile: str = "ping-only", extra: str = "") -> str:
    address = f"192.0.2.{sum(device_id.encode()) % 250 + 1}"
    return (
        f'[[devices]]\nid = "{device_id}"\naddress = "{address}"\nprofile = "{profile}"\n'
        f'snmp = {{ community = "public" }}\n{extra}\n'
    )


def one_device(extra: str = "", *, profile: str = "ping-only") -> DeviceConfig:
    (device,) = inventory(device_toml("r1", profile=profile, extra=extra))
    return device


# ---- samples ---------------------------------------------------------------------------------


def up(device_id: str, at: float, **snmp: float | None) -> Sample:
    ping = PingResult("192.0.2.1", sent=3, received=3, rtts_ms=(1.0, 1.2, 1.1))
    return Sample(device_id, at, ping=ping, snmp=_snmp(snmp) if snmp else None)


def down(device_id: str, at: float) -> Sample:
    return Sample(device_id, at, ping=PingResult("192.0.2.1", sent=3, received=0))


def _snmp(metrics: Mapping[str, float | None]) -> SnmpReading:
    readings = {
        name: MetricReading(value, "test")
        if value is not None
        else MetricReading(None, error=SnmpError(SnmpErrorKind.MALFORMED, "sentinel -1"))
        for name, value in metrics.items()
    }
    return SnmpReading(metrics=readings)


def snmp_timeout(device_id: str, at: float) -> Sample:
    ping = PingResult("192.0.2.1", sent=3, received=3, rtts_ms=(1.0, 1.0, 1.0))
    error = SnmpError(SnmpErrorKind.TIMEOUT, "no response after 2 retries")
    return Sample(device_id, at, ping=ping, snmp=SnmpReading(error=error))


class Run:
    """Feeds cycles to the engine and keeps everything it said."""

    def __init__(self, devices: Sequence[DeviceConfig]) -> None:
        self.devices = list(devices)
        self.states: dict[str, DeviceState] = {}
        self.outcomes: list[tuple[float, CycleOutcome]] = []

    def cycle(self, now: float, samples: Iterable[Sample]) -> CycleOutcome:
        outcome = run_cycle(self.devices, self.states, {s.device_id: s for s in samples}, now)
        self.states = outcome.states
        self.outcomes.append((now, outcome))
        return outcome

    def times(self, kind: TransitionKind, device_id: str) -> list[float]:
        return [
            t.at
            for _, outcome in self.outcomes
            for t in outcome.transitions
            if t.kind is kind and t.device_id == device_id
        ]

    def alerting(self, outcome: CycleOutcome) -> list[str]:
        return [alert.device_id for alert in outcome.alerts]


# ---- hold-down and recovery ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hold_down", "fail_times", "fires_at"),
    [
        # 2 minutes at 60 s: the THIRD failing poll (failing 0 s, 60 s, 120 s), not the fourth.
        ('"2m"', [0, 60, 120, 180], 120),
        # A poll landing 300 ms early still fires.
        ('"2m"', [0, 60, 119.7, 180], 119.7),
        # ... and so does one whose first failing poll was 300 ms late.
        ('"2m"', [0.3, 60, 120, 180], 120),
        ('"90s"', [0, 60, 120, 180], 120),
        ('"60s"', [0, 60, 120], 60),
        ('"0s"', [0, 60], 0),
        # The allowance's edge is inclusive (>=): exactly SCHEDULING_ALLOWANCE early fires.
        ('"2m"', [0, 60, 120 - SCHEDULING_ALLOWANCE, 180], 120 - SCHEDULING_ALLOWANCE),
        # Jitter is a few hundred ms, not a whole cycle: 2 s early is too early.
        ('"2m"', [0, 60, 118, 178], 178),
    ],
)
def test_hold_down_fires_at_the_first_poll_at_or_past_it(
    hold_down: str, fail_times: list[float], fires_at: float
) -> None:
    run = Run([one_device(f"hold_down = {hold_down}")])
    run.cycle(-60, [up("r1", -60)])
    for now in fail_times:
        outcome = run.cycle(now, [down("r1", now)])
        expected_phase = Phase.ALERTING if now >= fires_at else Phase.PENDING
        assert outcome.states["r1"].phase is expected_phase, now
        assert run.alerting(outcome) == (["r1"] if now >= fires_at else [])
    assert run.times(TransitionKind.TRIGGERED, "r1") == [fires_at]
    assert run.outcomes[-1][1].alerts[0].since == fail_times[0]


def test_hold_down_as_consecutive_failing_polls_restarts_after_an_ok_poll() -> None:
    run = Run([one_device()])
    run.cycle(0, [down("r1", 0)])
    run.cycle(60, [down("r1", 60)])
    run.cycle(120, [up("r1", 120)])  # one good poll: the count starts again
    for now in (180, 240):
        assert run.cycle(now, [down("r1", now)]).states["r1"].phase is Phase.PENDING
    assert run.cycle(300, [down("r1", 300)]).states["r1"].phase is Phase.ALERTING
    assert run.times(TransitionKind.TRIGGERED, "r1") == [300]


@pytest.mark.parametrize(
    ("ok_times", "resolves_at"),
    [
        ([300, 360, 420, 480], 420),  # third OK poll, not the fourth
        ([300, 360, 419.7, 480], 419.7),  # 300 ms early still resolves
        ([300, 360, 418, 478], 478),
    ],
)
def test_recovery_hold_resolves_at_the_first_poll_at_or_past_it(
    ok_times: list[float], resolves_at: float
) -> None:
    run = Run([one_device()])
    for now in (0, 60, 120, 180, 240):
        run.cycle(now, [down("r1", now)])
    assert run.states["r1"].phase is Phase.ALERTING
    for now in ok_times:
        outcome = run.cycle(now, [up("r1", now)])
        if now < resolves_at:
            assert outcome.states["r1"].phase is Phase.RECOVERING
            assert run.alerting(outcome) == ["r1"]  # still paging until resolved
            assert outcome.resolved == []
        elif now == resolves_at:
            assert outcome.resolved == ["r1"]
            assert outcome.alerts == []
    assert run.times(TransitionKind.RESOLVED, "r1") == [resolves_at]
    assert run.times(TransitionKind.TRIGGERED, "r1") == [120]


def test_failing_again_during_recovery_keeps_the_same_incident() -> None:
    run = Run([one_device()])
    for now in (0, 60, 120):
        run.cycle(now, [down("r1", now)])
    run.cycle(180, [up("r1", 180)])
    run.cycle(240, [down("r1", 240)])
    for now in (300, 360):
        run.cycle(now, [up("r1", now)])
    assert run.states["r1"].phase is Phase.RECOVERING  # the hold started again at 300
    run.cycle(420, [up("r1", 420)])
    assert run.times(TransitionKind.TRIGGERED, "r1") == [120]
    assert run.times(TransitionKind.RESOLVED, "r1") == [420]


# ---- hysteresis ------------------------------------------------------------------------------


def test_cpu_between_89_and_91_around_a_90_critical_does_not_toggle() -> None:
    run = Run([one_device('hold_down = "0s"\nrecovery = "0s"', profile="linux")])
    levels = []
    for index, cpu in enumerate([91, 89, 91, 89.5, 90.5, 89, 85.1, 91]):
        outcome = run.cycle(index * 60, [up("r1", index * 60, cpu=cpu, temperature=40)])
        (failing,) = outcome.states["r1"].failing
        assert failing.check == CPU
        levels.append(failing.level)
    assert levels == [Level.CRITICAL] * 8
    assert run.times(TransitionKind.TRIGGERED, "r1") == [0]
    assert run.times(TransitionKind.RESOLVED, "r1") == []


@pytest.mark.parametrize(
    ("values", "levels"),
    [
        # warning 80 / critical 90 / clear 5
        ([91, 85, 84.9, 80, 75, 74.9], ["C", "C", "W", "W", "W", "O"]),
        ([79.9, 80, 76, 89.9, 90], ["O", "W", "W", "W", "C"]),
        ([100, 0, 91], ["C", "O", "C"]),
    ],
)
def test_cpu_levels_with_hysteresis(values: list[float], levels: list[str]) -> None:
    run = Run([one_device(profile="linux")])
    seen = []
    for index, cpu in enumerate(values):
        outcome = run.cycle(index * 60, [up("r1", index * 60, cpu=cpu)])
        seen.append("OWC"[outcome.states["r1"].checks[CPU].level])
    assert seen == levels


def test_device_with_warning_at_90_stays_alerting_at_89() -> None:
    extra = (
        'hold_down = "0s"\nrecovery = "0s"\n[devices.thresholds.cpu]\nwarning = 90\ncritical = 95'
    )
    run = Run([one_device(extra, profile="linux")])
    for index, cpu in enumerate([91, 89, 90.5, 86, 89.9]):
        run.cycle(index * 60, [up("r1", index * 60, cpu=cpu)])
        assert run.states["r1"].phase is Phase.ALERTING
    run.cycle(300, [up("r1", 300, cpu=84.9)])
    assert run.times(TransitionKind.TRIGGERED, "r1") == [0]
    assert run.times(TransitionKind.RESOLVED, "r1") == [300]


# ---- unknown is not OK -----------------------------------------------------------------------


def test_first_cycle_without_data_fires_nothing() -> None:
    devices = inventory(device_toml("a", profile="linux") + device_toml("b"))
    run = Run(devices)
    outcome = run.cycle(0, [Sample("a", 0), Sample("b", 0)])
    assert outcome.alerts == [] and outcome.resolved == []
    assert [t.kind for t in outcome.transitions] == []
    assert {s.phase for s in outcome.states.values()} == {Phase.OK}
    assert all(not v.known for s in outcome.states.values() for v in s.checks.values())
    # No sample at all for a device: no state, nothing fired.
    assert run.cycle(60, []).alerts == []


def test_snmp_not_answering_is_a_failing_snmp_check_not_a_cpu_alert() -> None:
    run = Run([one_device('hold_down = "0s"', profile="linux")])
    run.cycle(0, [up("r1", 0, cpu=20, temperature=40)])
    outcome = run.cycle(60, [snmp_timeout("r1", 60)])
    state = outcome.states["r1"]
    assert [(c.check, c.level) for c in state.failing] == [(SNMP, Level.WARNING)]
    assert state.failing[0].detail == "timeout: no response after 2 retries"
    assert not state.down
    # CPU and temperature are unknown, at their last known level (OK).
    assert (state.checks[CPU].known, state.checks[CPU].level) == (False, Level.OK)
    assert (state.checks[TEMPERATURE].known, state.checks[TEMPERATURE].level) == (False, Level.OK)
    assert state.checks[REACHABILITY].level is Level.OK


def test_snmp_failure_level_critical() -> None:
    run = Run([one_device('hold_down = "0s"\nsnmp_failure_level = "critical"', profile="linux")])
    outcome = run.cycle(0, [snmp_timeout("r1", 0)])
    assert [(c.check, c.level) for c in outcome.alerts[0].failing] == [(SNMP, Level.CRITICAL)]


def test_invalid_reading_keeps_the_previous_level() -> None:
    run = Run([one_device('hold_down = "0s"\nrecovery = "0s"', profile="linux")])
    run.cycle(0, [up("r1", 0, cpu=95)])
    outcome = run.cycle(60, [up("r1", 60, cpu=None)])
    cpu = outcome.states["r1"].checks[CPU]
    assert (cpu.level, cpu.known, cpu.value) == (Level.CRITICAL, False, 95)
    assert run.alerting(outcome) == ["r1"] and outcome.resolved == []
    # ... and never raises an OK check either.
    run2 = Run([one_device('hold_down = "0s"', profile="linux")])
    run2.cycle(0, [up("r1", 0, cpu=10)])
    assert run2.cycle(60, [up("r1", 60, cpu=None)]).alerts == []


def test_unknown_reachability_does_not_clear_an_outage() -> None:
    run = Run([one_device()])
    for now in (0, 60, 120):
        run.cycle(now, [down("r1", now)])
    for now in (180, 240, 300, 360):
        error = PingResult("192.0.2.1", sent=0, received=0, error="socket: ENOBUFS")
        outcome = run.cycle(now, [Sample("r1", now, ping=error)])
        assert outcome.resolved == [] and run.alerting(outcome) == ["r1"]


@pytest.mark.parametrize(
    ("received", "failing"),
    [(3, []), (2, []), (1, [(REACHABILITY, Level.WARNING)]), (0, [(REACHABILITY, Level.CRITICAL)])],
)
def test_one_dropped_echo_of_three_is_not_an_outage(
    received: int, failing: list[tuple[str, Level]]
) -> None:
    run = Run([one_device('hold_down = "0s"')])
    ping = PingResult("192.0.2.1", sent=3, received=received, rtts_ms=(1.0,) * received)
    state = run.cycle(0, [Sample("r1", 0, ping=ping)]).states["r1"]
    assert [(c.check, c.level) for c in state.failing] == failing
    assert state.down is (received == 0)


def test_down_device_pages_only_reachability() -> None:
    run = Run([one_device('hold_down = "0s"', profile="linux")])
    run.cycle(0, [up("r1", 0, cpu=99, temperature=90)])
    outcome = run.cycle(60, [down("r1", 60)])
    assert [c.check for c in outcome.alerts[0].failing] == [REACHABILITY]


# ---- parents ---------------------------------------------------------------------------------

SECTORS = [f"sector-{n}" for n in range(1, 4)]
CPES = [f"cpe-{n:03d}" for n in range(200)]


def tower_site() -> list[DeviceConfig]:
    lines = ['[defaults]\nprofile = "ping-only"\n']
    lines.append('[[devices]]\nid = "tower"\naddress = "198.51.100.1"\n')
    for n, sector in enumerate(SECTORS):
        lines.append(
            f'[[devices]]\nid = "{sector}"\naddress = "198.51.100.{10 + n}"\nparent = "tower"\n'
        )
    for n, cpe in enumerate(CPES):
        lines.append(
            f'[[devices]]\nid = "{cpe}"\naddress = "10.0.{n // 250}.{n % 250 + 1}"\n'
            f'parent = "{SECTORS[n % 3]}"\n'
        )
    return inventory("\n".join(lines))


ALL = ["tower", *SECTORS, *CPES]


def site_samples(now: float, down_ids: Iterable[str], *, reverse: bool = False) -> list[Sample]:
    down_set = set(down_ids)
    samples = [down(i, now) if i in down_set else up(i, now) for i in ALL]
    return samples[::-1] if reverse else samples


@pytest.mark.parametrize("reverse", [False, True])
def test_tower_down_only_the_tower_alerts_and_lists_everything_behind_it(reverse: bool) -> None:
    run = Run(tower_site())
    run.cycle(0, site_samples(0, []))
    for now in (60, 120):
        outcome = run.cycle(now, site_samples(now, ALL, reverse=reverse))
        assert outcome.alerts == []
    outcome = run.cycle(180, site_samples(180, ALL, reverse=reverse))
    (alert,) = outcome.alerts
    assert alert.device_id == "tower"
    assert alert.unreachable_children == tuple(sorted([*SECTORS, *CPES]))
    assert [t.device_id for t in outcome.transitions if t.kind is TransitionKind.TRIGGERED] == [
        "tower"
    ]
    assert all(outcome.states[i].phase is Phase.UNREACHABLE for i in [*SECTORS, *CPES])
    assert not any(outcome.states[i].incident_open for i in [*SECTORS, *CPES])


def test_children_are_judged_against_the_parent_of_the_same_cycle() -> None:
    run = Run(tower_site())
    run.cycle(0, site_samples(0, ["tower", "sector-1"]))
    # The tower is back this cycle; sector-1 is still down: its own, not unreachable.
    outcome = run.cycle(60, site_samples(60, ["sector-1"], reverse=True))
    assert outcome.states["sector-1"].phase is Phase.PENDING
    # A sector going down with its tower this very cycle is unreachable, whatever the order.
    run2 = Run(tower_site())
    outcome = run2.cycle(0, site_samples(0, ["tower", "sector-2"], reverse=True))
    assert outcome.states["sector-2"].phase is Phase.UNREACHABLE


def test_a_sector_down_alone_pages_for_its_cpes() -> None:
    run = Run(tower_site())
    behind = [c for n, c in enumerate(CPES) if n % 3 == 1]  # sector-2's CPEs
    for now in (0, 60, 120):
        outcome = run.cycle(now, site_samples(now, ["sector-2", *behind]))
    (alert,) = outcome.alerts
    assert alert.device_id == "sector-2"
    assert alert.unreachable_children == tuple(behind)
    assert outcome.states["tower"].phase is Phase.OK


def test_when_the_tower_returns_a_child_still_down_starts_its_hold_down_then() -> None:
    run = Run(tower_site())
    for now in (0, 60, 120, 180, 240):
        run.cycle(now, site_samples(now, ALL))
    assert run.times(TransitionKind.TRIGGERED, "tower") == [120]
    # 300: the tower and everything else come back except cpe-007.
    outcome = run.cycle(300, site_samples(300, ["cpe-007"]))
    assert outcome.states["cpe-007"].phase is Phase.PENDING
    assert outcome.states["cpe-007"].failing_since == 300
    assert run.alerting(outcome) == ["tower"]  # recovering, still open
    outcome = run.cycle(360, site_samples(360, ["cpe-007"]))
    assert run.alerting(outcome) == ["tower"]
    outcome = run.cycle(420, site_samples(420, ["cpe-007"]))
    assert run.alerting(outcome) == ["cpe-007"]
    assert outcome.resolved == ["tower"]
    assert run.times(TransitionKind.TRIGGERED, "cpe-007") == [420]
    assert outcome.alerts[0].since == 300


def test_child_alerting_before_its_parent_went_down_is_not_resolved_meanwhile() -> None:
    run = Run(tower_site())
    for now in (0, 60, 120):
        run.cycle(now, site_samples(now, ["cpe-001"]))
    assert run.times(TransitionKind.TRIGGERED, "cpe-001") == [120]
    for now in (180, 240, 300):
        outcome = run.cycle(now, site_samples(now, ALL))
        assert "cpe-001" not in run.alerting(outcome)
        assert outcome.resolved == []
    for now in (360, 420, 480):
        outcome = run.cycle(now, site_samples(now, []))
    assert run.times(TransitionKind.RESOLVED, "cpe-001") == [480]
    assert run.times(TransitionKind.TRIGGERED, "cpe-001") == [120]


def test_parent_without_ping_data_this_cycle_still_shields_its_children() -> None:
    # The tower was down; this cycle its ping result is missing (unknown, not OK): its
    # children stay unreachable and must not start paging on their own.
    run = Run(tower_site())
    for now in (0, 60, 120):
        run.cycle(now, site_samples(now, ALL))
    for now in (180, 240, 300):
        samples = [s for s in site_samples(now, ALL) if s.device_id != "tower"]
        samples.append(Sample("tower", now))
        outcome = run.cycle(now, samples)
        assert run.alerting(outcome) == ["tower"]
        assert outcome.states["sector-1"].phase is Phase.UNREACHABLE
    assert [t for _, o in run.outcomes for t in o.transitions if t.device_id != "tower"] == [
        t
        for _, o in run.outcomes
        for t in o.transitions
        if t.device_id != "tower" and t.kind is TransitionKind.PHASE
    ]


def test_parent_missing_from_the_cycle_still_shields_its_children() -> None:
    run = Run(tower_site())
    for now in (0, 60, 120):
        run.cycle(now, site_samples(now, ALL))
    for now in (180, 240, 300):
        outcome = run.cycle(now, [s for s in site_samples(now, ALL) if s.device_id != "tower"])
        assert run.alerting(outcome) == ["tower"]
        assert outcome.states["cpe-100"].phase is Phase.UNREACHABLE


# ---- inventory changes -----------------------------------------------------------------------


def test_device_removed_while_alerting_is_resolved() -> None:
    devices = inventory(device_toml("a") + device_toml("b"))
    run = Run(devices)
    for now in (0, 60, 120):
        run.cycle(now, [down("a", now), up("b", now)])
    assert run.alerting(run.outcomes[-1][1]) == ["a"]
    run.devices = [d for d in devices if d.id == "b"]
    outcome = run.cycle(180, [up("b", 180)])
    assert outcome.resolved == ["a"]
    assert outcome.alerts == []
    assert "a" not in outcome.states
    assert [(t.device_id, t.kind) for t in outcome.transitions] == [("a", TransitionKind.RESOLVED)]
    # Nothing more about it afterwards.
    assert run.cycle(240, [up("b", 240)]).transitions == []


def test_device_disabled_while_alerting_is_resolved() -> None:
    run = Run([one_device()])
    for now in (0, 60, 120):
        run.cycle(now, [down("r1", now)])
    run.devices = [one_device("enabled = false")]
    assert run.cycle(180, [down("r1", 180)]).resolved == ["r1"]


# ---- properties over random sample sequences -------------------------------------------------

# 600 s to 1500 s after the epoch: the property runs cover before, inside and after it.
_WINDOW_FOR_CHILDREN = (
    "[[devices.maintenance]]\nstart = 1970-01-01T00:10:00Z\nend = 1970-01-01T00:25:00Z\n"
    "include_children = true"
)
_SUPPRESSED = {"mid-b", "leaf-3"}


def _in_window(now: float) -> bool:
    return 600 <= now < 1500


_TREE = inventory(
    '[defaults]\nprofile = "linux"\nsnmp = { community = "public" }\n'
    + "".join(
        f'[[devices]]\nid = "{i}"\naddress = "192.0.2.{n + 1}"\n'
        + (f'parent = "{p}"\n' if p else "")
        + f'hold_down = "{h}s"\nrecovery = "{r}s"\n{extra}\n'
        for n, (i, p, h, r, extra) in enumerate(
            [
                ("root", None, 120, 120, ""),
                ("mid-a", "root", 60, 0, 'flapping = { changes = 2, window = "5m" }'),
                ("mid-b", "root", 0, 60, _WINDOW_FOR_CHILDREN),
                ("leaf-1", "mid-a", 0, 0, "hold_down_polls = 2"),
                ("leaf-2", "mid-a", 180, 120, 'page_from = "critical"'),
                ("leaf-3", "mid-b", 60, 60, ""),
            ]
        )
    )
)
_PARENTS = {d.id: d.parent for d in _TREE}

_one_sample = st.one_of(
    st.just("missing"),
    st.just("empty"),
    st.just("down"),
    st.just("snmp-timeout"),
    st.tuples(
        st.integers(0, 3),  # echo replies of 3
        st.one_of(st.none(), st.floats(0, 100)),  # cpu, None: invalid reading
        st.one_of(st.none(), st.floats(-20, 120)),  # temperature
    ),
)


def _make(device_id: str, now: float, spec: object) -> Sample | None:
    if spec == "missing":
        return None
    if spec == "empty":
        return Sample(device_id, now)
    if spec == "down":
        return down(device_id, now)
    if spec == "snmp-timeout":
        return snmp_timeout(device_id, now)
    assert isinstance(spec, tuple)
    received, cpu, temperature = spec
    ping = PingResult("192.0.2.1", 3, received, rtts_ms=(2.0,) * received)
    return Sample(device_id, now, ping=ping, snmp=_snmp({"cpu": cpu, "temperature": temperature}))


def _ancestors(device_id: str) -> list[str]:
    out = []
    parent = _PARENTS[device_id]
    while parent is not None:
        out.append(parent)
        parent = _PARENTS[parent]
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.floats(20, 100),  # seconds to the next cycle
            st.fixed_dictionaries({d.id: _one_sample for d in _TREE}),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_engine_properties(cycles: list[tuple[float, dict[str, object]]]) -> None:
    run = Run(_TREE)
    now = 0.0
    open_incidents: set[str] = set()
    for step, specs in cycles:
        now += step
        samples = [s for i, spec in specs.items() if (s := _make(i, now, spec)) is not None]
        outcome = run.cycle(now, samples)
        down_now = {i for i, state in outcome.states.items() if state.down}
        for transition in outcome.transitions:
            if transition.kind is TransitionKind.TRIGGERED:
                # at most one open incident per device
                assert transition.device_id not in open_incidents
                # never a trigger for a device whose ancestor is down this cycle
                assert not down_now.intersection(_ancestors(transition.device_id))
                # never a trigger for a device (or child) inside a maintenance window
                assert not (_in_window(now) and transition.device_id in _SUPPRESSED)
                open_incidents.add(transition.device_id)
            elif transition.kind is TransitionKind.RESOLVED:
                # never a resolve without an earlier trigger
                assert transition.device_id in open_incidents
                open_incidents.remove(transition.device_id)
        assert set(outcome.resolved) <= {
            t.device_id for t in outcome.transitions if t.kind is TransitionKind.RESOLVED
        }
        for alert in outcome.alerts:
            assert alert.device_id in open_incidents
            assert not down_now.intersection(_ancestors(alert.device_id))
        assert len({a.device_id for a in outcome.alerts}) == len(outcome.alerts)
        assert {i for i, s in outcome.states.items() if s.incident_open} == open_incidents


@pytest.mark.parametrize(
    ("hold", "elapsed", "expected"),
    [
        (120.0, 119.0, True),  # a poll a second early still counts at production intervals
        (120.0, 118.9, False),
        (2.0, 1.85, True),  # short holds get a tenth of themselves as slack...
        (2.0, 1.0, False),  # ...so a 2 s hold at a 1 s interval needs its third poll
        (0.0, 0.0, True),
    ],
)
def test_hold_allows_scheduling_jitter_in_proportion(
    hold: float, elapsed: float, expected: bool
) -> None:
    assert held(100.0, 100.0 + elapsed, hold) is expected


def test_reachability_names_the_address_a_dns_name_resolved_to() -> None:
    device = parse_inventory(
        '[[devices]]\nid = "r"\naddress = "rtr.example.net"\nprofile = "ping-only"\n',
        Path("t.toml"),
    ).devices[0]
    sample = Sample("r", 0.0, ping=PingResult("2001:db8::7", 3, 0, error=None))
    verdict = judge_sample(device, sample, {})["reachability"]
    assert verdict.detail == "0/3 replies from 2001:db8::7"


def test_resume_after_a_long_gap_keeps_an_open_incidents_failing_since() -> None:
    from netwatch.engine import resume_after_gap

    states = {
        "open": DeviceState(Phase.ALERTING, failing_since=100.0, incident_open=True),
        "pending": DeviceState(Phase.PENDING, failing_since=100.0),
    }
    resumed = resume_after_gap(states, last_cycle_at=200.0, now=5000.0, interval=60.0)
    assert resumed["open"].failing_since == 100.0 and resumed["open"].phase is Phase.ALERTING
    assert resumed["pending"].failing_since is None and resumed["pending"].phase is Phase.OK
