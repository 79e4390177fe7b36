"""Engine rules beyond hold-down and parents: hold-down as a count of polls, flapping,
maintenance windows, severity mapping and page_from. Edge times are exact."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_engine import Run, device_toml, down, inventory, one_device, up

from netwatch.alerts import Level
from netwatch.engine import Phase, TransitionKind
from netwatch.events import fold_failing_checks
from netwatch.inventory import InventoryError, parse_inventory
from netwatch.maintenance import window_active
from netwatch.notifier import Notifier
from netwatch.samples import Sample


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()  # type: ignore[misc]


# ---- hold-down and recovery as consecutive polls ---------------------------------------------


def test_hold_down_polls_fires_on_the_nth_failing_poll_whatever_the_spacing() -> None:
    run = Run([one_device('hold_down = "10m"\nhold_down_polls = 3')])
    for now in (0, 5, 10):
        outcome = run.cycle(now, [down("r1", now)])
    assert outcome.states["r1"].phase is Phase.ALERTING
    assert run.times(TransitionKind.TRIGGERED, "r1") == [10]


def test_a_poll_without_data_does_not_count_towards_hold_down_polls() -> None:
    run = Run([one_device("hold_down_polls = 3")])
    run.cycle(0, [down("r1", 0)])
    run.cycle(60, [Sample("r1", 60)])  # no data: unknown, keeps the level, not a poll
    run.cycle(120, [down("r1", 120)])
    assert run.states["r1"].phase is Phase.PENDING
    run.cycle(180, [down("r1", 180)])
    assert run.times(TransitionKind.TRIGGERED, "r1") == [180]


def test_an_ok_poll_restarts_the_poll_count() -> None:
    run = Run([one_device("hold_down_polls = 2")])
    run.cycle(0, [down("r1", 0)])
    run.cycle(60, [up("r1", 60)])
    run.cycle(120, [down("r1", 120)])
    assert run.states["r1"].phase is Phase.PENDING
    run.cycle(180, [down("r1", 180)])
    assert run.times(TransitionKind.TRIGGERED, "r1") == [180]


def test_recovery_polls_resolves_on_the_nth_ok_poll() -> None:
    run = Run([one_device('hold_down_polls = 1\nrecovery = "1h"\nrecovery_polls = 2')])
    run.cycle(0, [down("r1", 0)])
    assert run.times(TransitionKind.TRIGGERED, "r1") == [0]
    run.cycle(30, [up("r1", 30)])
    assert run.states["r1"].phase is Phase.RECOVERING
    run.cycle(31, [up("r1", 31)])
    assert run.times(TransitionKind.RESOLVED, "r1") == [31]


# ---- flapping --------------------------------------------------------------------------------

FLAPPY = 'hold_down = "0s"\nrecovery = "0s"\nflapping = { changes = 3, window = "10m" }'


def test_more_than_n_changes_in_the_window_keeps_one_incident_open_until_it_calms() -> None:
    run = Run([one_device(FLAPPY)])
    pattern = {0: down, 60: up, 120: down, 180: up, 240: down, 300: up}
    for now, make in pattern.items():
        outcome = run.cycle(now, [make("r1", now)])
    # Changes at 0, 60, 120: three, not more: a normal trigger/resolve/trigger.
    # The fourth change (180, OK again) makes it flapping: it stays open.
    assert run.times(TransitionKind.TRIGGERED, "r1") == [0, 120]
    assert run.times(TransitionKind.RESOLVED, "r1") == [60]
    assert outcome.states["r1"].flapping
    assert outcome.states["r1"].phase is Phase.RECOVERING
    (alert,) = outcome.alerts
    assert alert.flapping
    assert "flapping" in fold_failing_checks(alert)
    # OK from 300 on. Changes older than 10 minutes drop out: at 660 the window still holds
    # 120, 180, 240, 300 (four); at 720 it holds 180, 240, 300 (three): calm, resolved then.
    for now in range(360, 721, 60):
        outcome = run.cycle(now, [up("r1", now)])
        assert outcome.resolved == ([] if now < 720 else ["r1"]), now
    assert run.times(TransitionKind.RESOLVED, "r1") == [60, 720]
    assert not run.states["r1"].flapping


def test_flapping_device_failing_again_is_the_same_incident() -> None:
    run = Run([one_device(FLAPPY)])
    for now in range(0, 600, 60):
        run.cycle(now, [(down if now // 60 % 2 == 0 else up)("r1", now)])
    assert run.times(TransitionKind.TRIGGERED, "r1") == [0, 120]
    assert run.times(TransitionKind.RESOLVED, "r1") == [60]


def test_flapping_is_said_once_in_a_trigger_even_when_the_checks_are_ok() -> None:
    run = Run([one_device(FLAPPY)])
    notifier = Notifier(routing_key="R" * 32, resend_interval=3600)
    sent = []
    for now, make in {0: down, 60: up, 120: down, 180: up, 240: up}.items():
        outcome = run.cycle(now, [make("r1", now)])
        sent += [(now, e) for e in notifier.events_for(outcome, now)]
    actions = [(now, e["event_action"]) for now, e in sent]
    assert actions == [(0, "trigger"), (60, "resolve"), (120, "trigger"), (180, "trigger")]
    assert sent[-1][1]["payload"]["summary"].startswith("r1 (192.0.2.")
    assert "flapping: all checks OK now" in sent[-1][1]["payload"]["summary"]


def test_flapping_detection_off_with_zero_changes() -> None:
    run = Run([one_device('hold_down = "0s"\nrecovery = "0s"\nflapping = { changes = 0 }')])
    for now in range(0, 600, 60):
        run.cycle(now, [(down if now // 60 % 2 == 0 else up)("r1", now)])
    assert run.times(TransitionKind.TRIGGERED, "r1") == list(range(0, 600, 120))


# ---- maintenance windows ---------------------------------------------------------------------

# 2025-03-01 02:00-04:00 in Berlin (CET, UTC+1) is 01:00-03:00 UTC.
W_START = utc(2025, 3, 1, 1, 0)
W_END = utc(2025, 3, 1, 3, 0)
ONE_OFF = (
    "[[devices.maintenance]]\nstart = 2025-03-01T02:00:00\nend = 2025-03-01T04:00:00\n"
    'time_zone = "Europe/Berlin"\n'
)


def test_one_off_window_is_read_in_its_own_time_zone() -> None:
    (window,) = one_device(ONE_OFF).maintenance
    assert (window.start_epoch(), window.end_epoch()) == (W_START, W_END)
    assert not window_active(window, W_START - 1)
    assert window_active(window, W_START)
    assert window_active(window, W_END - 0.001)
    assert not window_active(window, W_END)


def test_not_active_before_its_start_a_device_pages_one_second_before() -> None:
    run = Run([one_device(ONE_OFF)])
    for now in (W_START - 121, W_START - 61, W_START - 1):
        run.cycle(now, [down("r1", now)])
    assert run.times(TransitionKind.TRIGGERED, "r1") == [W_START - 1]


def test_window_suppresses_a_trigger_due_at_its_start() -> None:
    run = Run([one_device(ONE_OFF)])
    for now in (W_START - 120, W_START - 60, W_START):
        outcome = run.cycle(now, [down("r1", now)])
    assert outcome.states["r1"].phase is Phase.MAINTENANCE
    assert outcome.alerts == [] and run.times(TransitionKind.TRIGGERED, "r1") == []


def test_still_failing_when_the_window_ends_pages_at_the_first_cycle_after_it() -> None:
    run = Run([one_device(ONE_OFF)])
    times = [W_START - 60 + 60 * n for n in range(122)]  # ... W_END - 60, W_END, W_END + 60
    for now in times:
        outcome = run.cycle(now, [down("r1", now)])
        if now < W_END:
            assert outcome.alerts == [], now
    assert run.times(TransitionKind.TRIGGERED, "r1") == [W_END]
    assert outcome.alerts[0].since == W_START - 60


def test_failing_only_late_in_the_window_serves_its_hold_down_after_it() -> None:
    run = Run([one_device(ONE_OFF)])
    run.cycle(W_END - 120, [up("r1", W_END - 120)])
    for now in (W_END - 60, W_END, W_END + 60):
        run.cycle(now, [down("r1", now)])
    # failing since W_END - 60: two minutes are up at W_END + 60, not at W_END
    assert run.times(TransitionKind.TRIGGERED, "r1") == [W_END + 60]


def test_window_never_resolves_but_a_recovery_inside_it_resolves_at_once() -> None:
    run = Run([one_device(ONE_OFF)])
    for now in (W_START - 300, W_START - 240, W_START - 180):
        run.cycle(now, [down("r1", now)])
    assert run.times(TransitionKind.TRIGGERED, "r1") == [W_START - 180]
    for now in (W_START, W_START + 60):
        outcome = run.cycle(now, [down("r1", now)])
        assert [a.device_id for a in outcome.alerts] == ["r1"]  # still open, still paging
        assert outcome.resolved == []
    outcome = run.cycle(W_START + 120, [up("r1", W_START + 120)])
    # No 2-minute recovery hold inside a window.
    assert outcome.resolved == ["r1"]
    assert outcome.states["r1"].phase is Phase.MAINTENANCE


def _parent_with_window(include_children: bool) -> Run:
    window = ONE_OFF.replace(
        "[[devices.maintenance]]",
        f"[[devices.maintenance]]\ninclude_children = {str(include_children).lower()}",
    )
    text = (
        device_toml("hub", extra=window)
        + device_toml("leaf", extra='parent = "hub"')
        + device_toml("other")
    )
    return Run(inventory(text))


@pytest.mark.parametrize("include_children", [True, False])
def test_window_covering_children_suppresses_their_triggers(include_children: bool) -> None:
    run = _parent_with_window(include_children)
    for now in (W_START, W_START + 60, W_START + 120):
        run.cycle(now, [up("hub", now), down("leaf", now), down("other", now)])
    assert run.times(TransitionKind.TRIGGERED, "other") == [W_START + 120]
    assert run.times(TransitionKind.TRIGGERED, "leaf") == (
        [] if include_children else [W_START + 120]
    )


WEEKLY = (
    '[[devices.maintenance]]\ndays = ["Sun"]\nat = "02:30"\nduration = "1h"\n'
    'time_zone = "Europe/Berlin"\n'
)


@pytest.mark.parametrize(
    ("moment", "active"),
    [
        # Sunday 2025-03-23, CET: 02:30-03:30 local is 01:30-02:30 UTC
        (utc(2025, 3, 23, 1, 29, 59), False),
        (utc(2025, 3, 23, 1, 30), True),
        (utc(2025, 3, 23, 2, 29, 59), True),
        (utc(2025, 3, 23, 2, 30), False),
        # the Monday after: not a window day
        (utc(2025, 3, 24, 1, 45), False),
        # Sunday 2025-06-01, CEST: 02:30 local is 00:30 UTC
        (utc(2025, 6, 1, 0, 29, 59), False),
        (utc(2025, 6, 1, 0, 30), True),
        (utc(2025, 6, 1, 1, 29, 59), True),
        (utc(2025, 6, 1, 1, 30), False),
    ],
)
def test_weekly_window_follows_its_zone_through_dst(moment: float, active: bool) -> None:
    (window,) = one_device(WEEKLY).maintenance
    assert window_active(window, moment) is active


def test_weekly_window_running_past_midnight() -> None:
    text = WEEKLY.replace('"02:30"', '"23:00"').replace('"1h"', '"2h"')
    (window,) = one_device(text).maintenance
    # Sunday 2025-03-23 23:00 CET = 22:00 UTC, until Monday 01:00 CET = 00:00 UTC
    assert window_active(window, utc(2025, 3, 23, 23, 30))
    assert not window_active(window, utc(2025, 3, 24, 0, 0))
    assert not window_active(window, utc(2025, 3, 22, 23, 30))  # Saturday night


def test_windows_add_up_across_defaults_group_and_device() -> None:
    text = (
        '[defaults]\nprofile = "ping-only"\nmaintenance = [{ days = ["mon"], at = "01:00", '
        'duration = "1h", time_zone = "UTC" }]\n'
        '[groups.towers]\nmaintenance = [{ days = ["tue"], at = "01:00", duration = "1h", '
        'time_zone = "UTC" }]\n'
        '[[devices]]\nid = "t1"\naddress = "192.0.2.1"\ngroup = "towers"\n' + WEEKLY
    )
    (device,) = inventory(text)
    assert [w.days for w in device.maintenance] == [("mon",), ("tue",), ("sun",)]


@pytest.mark.parametrize(
    ("window", "field", "message"),
    [
        (
            "start = 2025-03-01T02:00:00\nend = 2025-03-01T04:00:00",
            "maintenance[1]",
            "start/end without a UTC offset need time_zone",
        ),
        (
            'days = ["sun"]\nat = "02:00"\nduration = "1h"',
            "maintenance[1]",
            "a weekly window needs time_zone",
        ),
        (
            'days = ["sun"]\nat = "02:00"\nduration = "1h"\ntime_zone = "Mars/Olympus"',
            "maintenance[1].time_zone",
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            "start = 2025-03-01T04:00:00Z\nend = 2025-03-01T02:00:00Z",
            "maintenance[1]",
            "end must be after start",
        ),
        (
            'days = ["sunday-ish"]\nat = "02:00"\nduration = "1h"\ntime_zone = "UTC"',
            "maintenance[1].days[1]",
            "must be 'mon'",
        ),
        ("start = 2025-03-01T04:00:00Z", "maintenance[1]", "needs both start and end"),
    ],
)
def test_bad_windows_are_rejected_at_load(window: str, field: str, message: str) -> None:
    text = device_toml("r1", extra=f"[[devices.maintenance]]\n{window}\n")
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, Path("t.toml"))
    (problem,) = caught.value.problems
    assert problem.field == field and problem.device == "r1"
    assert message in problem.message


# ---- severity --------------------------------------------------------------------------------


def test_severity_mapping_goes_into_the_trigger() -> None:
    run = Run([one_device('hold_down = "0s"\nseverity = { critical = "error" }')])
    outcome = run.cycle(0, [down("r1", 0)])
    notifier = Notifier(routing_key="R" * 32, resend_interval=60)
    (event,) = notifier.events_for(outcome, 0)
    assert event["payload"]["severity"] == "error"


def test_severity_outside_pagerdutys_four_is_rejected_at_load() -> None:
    with pytest.raises(InventoryError) as caught:
        parse_inventory(device_toml("r1", extra='severity = { warning = "major" }'), Path("t.toml"))
    (problem,) = caught.value.problems
    assert problem.field == "severity.warning"
    assert "'critical', 'error', 'warning' or 'info'" in problem.message


def test_page_from_critical_ignores_warnings_and_never_filters_the_resolve() -> None:
    extra = 'page_from = "critical"\nhold_down = "2m"\nrecovery = "2m"'
    run = Run([one_device(extra, profile="linux")])
    cpu = {0: 85, 60: 85, 120: 85, 180: 85, 240: 95, 300: 95, 360: 95, 420: 84, 480: 84, 540: 84}
    for now, value in cpu.items():
        outcome = run.cycle(now, [up("r1", now, cpu=value)])
        if now < 360:
            assert outcome.alerts == [], now
    # Critical from 240: two minutes later, at 360. Back to warning at 420 (84 is below the
    # 90 - 5 hysteresis; 85 would still be critical): below page_from
    # counts as recovered, and the resolve goes out at 540 although a warning remains.
    assert run.times(TransitionKind.TRIGGERED, "r1") == [360]
    assert run.times(TransitionKind.RESOLVED, "r1") == [540]
    assert [(c.check, c.level) for c in run.states["r1"].failing] == [("cpu", Level.WARNING)]
