"""Table tests for building PagerDuty Events API v2 JSON from a DeviceAlert."""

from __future__ import annotations

import json
import re

import pytest

from netwatch.alerts import DeviceAlert, FailingCheck, Level
from netwatch.events import (
    DEDUP_KEY_MAX_CHARS,
    EVENT_MAX_BYTES,
    PAGERDUTY_SEVERITIES,
    SEVERITY_FOR_LEVEL,
    SUMMARY_MAX_CHARS,
    dedup_key_for,
    describe_check,
    event_bytes,
    fit_event_size,
    fold_failing_checks,
    iso_utc,
    resolve_event,
    trigger_event,
)

ROUTING_KEY = "R0123456789abcdef0123456789abcde"
NOW = 1_796_306_148.0  # 2026-12-03T13:55:48Z
CPU = FailingCheck("cpu", Level.CRITICAL, 95.0, "%", 90.0)
TEMPERATURE = FailingCheck("temperature", Level.WARNING, 81.0, "°C", 75.0)
SNMP_TIMEOUT = FailingCheck("snmp", Level.CRITICAL, None, "", None, "timeout")


def alert(
    *failing: FailingCheck,
    device_id: str = "core-rtr-1",
    name: str = "core-rtr-1",
    address: str = "192.0.2.1",
    site: str | None = "tower-a",
    children: tuple[str, ...] = (),
) -> DeviceAlert:
    return DeviceAlert(
        device_id=device_id,
        name=name,
        address=address,
        site=site,
        failing=failing,
        since=NOW - 300,
        unreachable_children=children,
    )


# --- dedup_key_for ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device_id", "expected"),
    [
        ("core-rtr-1", "netwatch/core-rtr-1"),
        ("tower 7/radio ä", "netwatch/tower 7/radio ä"),
        ("x" * 245, "netwatch/" + "x" * 245),  # 254 chars: the longest readable key
    ],
)
def test_dedup_key_keeps_ids_that_fit_readable(device_id: str, expected: str) -> None:
    assert dedup_key_for(device_id) == expected


@pytest.mark.parametrize("length", [246, 247, 300, 10_000])
def test_dedup_key_of_a_long_id_is_a_prefix_plus_hash_of_exactly_255(length: int) -> None:
    device_id = "d" * length
    key = dedup_key_for(device_id)
    assert len(key) == DEDUP_KEY_MAX_CHARS
    assert re.fullmatch(r"netwatch/d{229}~[0-9a-f]{16}", key)


def test_long_ids_sharing_a_prefix_get_different_keys() -> None:
    assert dedup_key_for("p" * 300 + "a") != dedup_key_for("p" * 300 + "b")


def test_long_non_ascii_id_is_cut_on_characters() -> None:
    key = dedup_key_for("€" * 400)
    assert len(key) == DEDUP_KEY_MAX_CHARS
    assert key.encode("utf-8").decode("utf-8") == key


def test_dedup_key_is_stable_and_the_same_for_trigger_and_resolve() -> None:
    critical = trigger_event(alert(CPU), routing_key=ROUTING_KEY, now=NOW)
    warning_later = trigger_event(alert(TEMPERATURE), routing_key=ROUTING_KEY, now=NOW + 60)
    resolve = resolve_event("core-rtr-1", routing_key=ROUTING_KEY)
    assert critical["dedup_key"] == warning_later["dedup_key"] == resolve["dedup_key"]


def test_empty_device_id_is_refused() -> None:
    with pytest.raises(ValueError):
        dedup_key_for("")


# --- fold_failing_checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "text"),
    [
        (CPU, "cpu 95.0 % ≥ 90 % (critical)"),
        (TEMPERATURE, "temperature 81.0 °C ≥ 75 °C (warning)"),
        (SNMP_TIMEOUT, "snmp: timeout (critical)"),
        (FailingCheck("snmp", Level.CRITICAL, None, "", None), "snmp (critical)"),
        (
            FailingCheck("temperature", Level.WARNING, 81.04, "°C", 75.5, "sensor 'cpu-temp'"),
            "temperature 81.0 °C ≥ 75.5 °C (warning, sensor 'cpu-temp')",
        ),
        (FailingCheck("latency", Level.WARNING, 850.0, "ms", None), "latency 850.0 ms (warning)"),
        (FailingCheck("errors", Level.WARNING, 12.0, "", 10.0), "errors 12.0 ≥ 10 (warning)"),
    ],
)
def test_describe_check(check: FailingCheck, text: str) -> None:
    assert describe_check(check) == text


@pytest.mark.parametrize(
    ("device", "summary"),
    [
        (
            alert(TEMPERATURE, CPU),
            "core-rtr-1 (192.0.2.1): cpu 95.0 % ≥ 90 % (critical); "
            "temperature 81.0 °C ≥ 75 °C (warning)",
        ),
        (
            alert(CPU, children=("radio-1", "radio-2", "radio-3")),
            "core-rtr-1 (192.0.2.1): cpu 95.0 % ≥ 90 % (critical); 3 devices behind it unreachable",
        ),
        (
            alert(SNMP_TIMEOUT, children=("radio-1",)),
            "core-rtr-1 (192.0.2.1): snmp: timeout (critical); 1 device behind it unreachable",
        ),
        (alert(CPU, address="core-rtr-1"), "core-rtr-1: cpu 95.0 % ≥ 90 % (critical)"),
        (alert(), "core-rtr-1 (192.0.2.1): alerting, no failing check reported"),
    ],
)
def test_summary_names_device_and_every_check_worst_first(
    device: DeviceAlert, summary: str
) -> None:
    assert fold_failing_checks(device) == summary


def test_equal_levels_keep_the_engines_order() -> None:
    summary = fold_failing_checks(alert(TEMPERATURE, CPU, SNMP_TIMEOUT))
    assert summary.index("cpu") < summary.index("snmp") < summary.index("temperature")


def many_checks(count: int, detail: str = "") -> tuple[FailingCheck, ...]:
    return tuple(
        FailingCheck(
            f"check-{i:02d}",
            Level.WARNING if i % 2 else Level.CRITICAL,
            50.0 + i,
            "%",
            40.0,
            detail,
        )
        for i in range(count)
    )


def test_sixty_checks_fold_into_1024_chars_with_a_count_of_the_rest() -> None:
    checks = many_checks(60)
    summary = fold_failing_checks(alert(*checks, children=("radio-1", "radio-2")))
    assert len(summary) <= SUMMARY_MAX_CHARS
    shown = re.findall(r"check-\d\d", summary)
    more = int(re.search(r"… \+(\d+) more", summary).group(1))  # type: ignore[union-attr]
    assert len(shown) + more == 60
    # worst first: every critical shown before any warning, and criticals shown first
    assert all(int(name[-2:]) % 2 == 0 for name in shown[:30])
    assert summary.endswith("; 2 devices behind it unreachable")


@pytest.mark.parametrize("name_length", [0, 1, 2, 3, 4, 5, 50, 200])
def test_summary_at_the_edge_of_1024_with_non_ascii_never_splits_or_overflows(
    name_length: int,
) -> None:
    # Pad the name so the checks straddle character 1024 with multi-byte characters nearby.
    checks = tuple(
        FailingCheck("température", Level.WARNING, 81.0, "°C", 75.0, "capteur « cœur » 🌡")
        for _ in range(20)
    )
    device = alert(*checks, name="é" * (930 + name_length))
    summary = fold_failing_checks(device)
    assert len(summary) <= SUMMARY_MAX_CHARS
    assert summary.encode("utf-8").decode("utf-8") == summary
    assert summary.startswith("é" * min(930 + name_length, 1000))


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_summary_exactly_at_1024_is_kept_whole(extra: int) -> None:
    base = fold_failing_checks(alert(CPU, name=""))
    name = "n" * (SUMMARY_MAX_CHARS - len(base) + len("core-rtr-1") + extra)
    summary = fold_failing_checks(alert(CPU, name=name))
    if extra <= 0:
        assert summary.endswith("cpu 95.0 % ≥ 90 % (critical)")
        assert len(summary) == SUMMARY_MAX_CHARS + extra
    else:
        assert len(summary) == SUMMARY_MAX_CHARS
        assert summary.endswith("…")


def test_a_huge_device_name_is_cut_to_1024_characters() -> None:
    summary = fold_failing_checks(alert(CPU, name="🛰" * 5000))
    assert len(summary) == SUMMARY_MAX_CHARS
    assert summary.endswith("…")


# --- trigger_event / resolve_event --------------------------------------------------------


@pytest.mark.parametrize(
    ("checks", "severity"),
    [
        ((CPU,), "critical"),
        ((TEMPERATURE,), "warning"),
        ((TEMPERATURE, SNMP_TIMEOUT), "critical"),
        ((), "info"),
    ],
)
def test_severity_is_the_worst_level(checks: tuple[FailingCheck, ...], severity: str) -> None:
    event = trigger_event(alert(*checks), routing_key=ROUTING_KEY, now=NOW)
    assert event["payload"]["severity"] == severity


@pytest.mark.parametrize("level", list(Level))
def test_every_level_maps_to_a_pagerduty_severity(level: Level) -> None:
    assert SEVERITY_FOR_LEVEL[level] in PAGERDUTY_SEVERITIES


def test_trigger_event_shape() -> None:
    device = alert(TEMPERATURE, CPU, children=("radio-1", "radio-2"))
    event = trigger_event(
        device, routing_key=ROUTING_KEY, now=NOW, links=[("https://noc.example/d/1", "NOC")]
    )
    assert event == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "netwatch/core-rtr-1",
        "client": "netwatch",
        "links": [{"href": "https://noc.example/d/1", "text": "NOC"}],
        "payload": {
            "summary": fold_failing_checks(device),
            "severity": "critical",
            "source": "192.0.2.1",
            "group": "tower-a",
            "component": "core-rtr-1",
            "class": "cpu",
            "timestamp": "2026-12-03T13:55:48.000Z",
            "custom_details": {
                "device_id": "core-rtr-1",
                "name": "core-rtr-1",
                "address": "192.0.2.1",
                "site": "tower-a",
                "failing_since": "2026-12-03T13:50:48.000Z",
                "unreachable_children": ["radio-1", "radio-2"],
                "failing_checks": [
                    {
                        "check": "cpu",
                        "value": 95.0,
                        "unit": "%",
                        "threshold": 90.0,
                        "level": "critical",
                        "detail": "",
                    },
                    {
                        "check": "temperature",
                        "value": 81.0,
                        "unit": "°C",
                        "threshold": 75.0,
                        "level": "warning",
                        "detail": "",
                    },
                ],
            },
        },
    }


def test_trigger_without_site_has_no_group_and_no_links() -> None:
    event = trigger_event(alert(CPU, site=None), routing_key=ROUTING_KEY, now=NOW)
    assert "group" not in event["payload"]
    assert "links" not in event


def test_resolve_event_shape() -> None:
    assert resolve_event("core-rtr-1", routing_key=ROUTING_KEY) == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": "netwatch/core-rtr-1",
    }


def test_timestamp_is_iso_8601_utc() -> None:
    assert iso_utc(0.0) == "1970-01-01T00:00:00.000Z"
    assert iso_utc(NOW + 0.25) == "2026-12-03T13:55:48.250Z"


def test_long_inventory_fields_are_capped() -> None:
    device = alert(CPU, device_id="i" * 1000, name="n" * 1000, address="a" * 1000, site="s" * 1000)
    payload = trigger_event(device, routing_key=ROUTING_KEY, now=NOW)["payload"]
    assert all(len(payload[field]) <= 255 for field in ("source", "group", "component"))


def test_sixty_checks_all_appear_in_custom_details() -> None:
    event = trigger_event(alert(*many_checks(60)), routing_key=ROUTING_KEY, now=NOW)
    assert len(event["payload"]["custom_details"]["failing_checks"]) == 60
    assert len(event["payload"]["summary"]) <= SUMMARY_MAX_CHARS


# --- size limit ---------------------------------------------------------------------------


def test_event_over_512kb_sheds_check_details_but_keeps_the_summary() -> None:
    device = alert(*many_checks(60, detail="ü" * 5_000))  # ~600 kB of detail in UTF-8
    event = trigger_event(device, routing_key=ROUTING_KEY, now=NOW)
    details = event["payload"]["custom_details"]
    assert len(event_bytes(event)) <= EVENT_MAX_BYTES
    assert details["failing_checks_total"] == 60
    assert 0 < len(details["failing_checks"]) < 60
    assert details["failing_checks"][0]["level"] == "critical"
    assert event["payload"]["summary"] == fold_failing_checks(device)


def test_thousands_of_children_are_shed_before_checks() -> None:
    children = tuple(f"radio-{i:05d}-" + "x" * 100 for i in range(6_000))  # ~700 kB
    event = trigger_event(alert(CPU, children=children), routing_key=ROUTING_KEY, now=NOW)
    details = event["payload"]["custom_details"]
    assert len(event_bytes(event)) <= EVENT_MAX_BYTES
    assert details["unreachable_children_total"] == 6_000
    assert 0 < len(details["unreachable_children"]) < 6_000
    assert len(details["failing_checks"]) == 1
    assert "6000 devices behind it unreachable" in event["payload"]["summary"]


def test_when_details_cannot_be_trimmed_they_are_replaced_and_then_links_dropped() -> None:
    event = trigger_event(
        alert(CPU),
        routing_key=ROUTING_KEY,
        now=NOW,
        links=[("https://noc.example/" + "p" * 600_000, "big")],
    )
    assert len(event_bytes(event)) <= EVENT_MAX_BYTES
    assert "links" not in event
    assert set(event["payload"]["custom_details"]) == {"failing_since", "shed"}


def test_small_events_are_returned_unchanged() -> None:
    event = trigger_event(alert(CPU), routing_key=ROUTING_KEY, now=NOW)
    assert fit_event_size(event) is event
    assert json.loads(event_bytes(event)) == event


def test_a_level_held_by_hysteresis_is_not_described_as_above_its_threshold() -> None:
    held = FailingCheck("cpu", Level.WARNING, 77.5, "%", 80.0, "hrProcessorLoad")
    assert describe_check(held) == (
        "cpu 77.5 %, raised at ≥ 80 % and held until it clears (warning, hrProcessorLoad)"
    )
