"""Routing rules, links, follow-ups pinned to their trigger's routing key, and the
acknowledge when a device enters maintenance while alerting (pure, plus the real outbox)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from netwatch.alerts import DeviceAlert, FailingCheck, Level
from netwatch.delivery.pending import PendingEvents
from netwatch.delivery.retry import Decision
from netwatch.engine import CycleOutcome, DeviceState, Phase
from netwatch.events import dedup_key_for, resolve_event, routing_key_fingerprint, trigger_event
from netwatch.inventory import InventoryError, load_inventory
from netwatch.notifier import MAINTENANCE_NOTE, Notifier
from netwatch.routing import plan_for
from netwatch.store import open_store
from netwatch.store.outbox import DurableOutbox

KEYS = {
    "NW_RT_DEFAULT": "Dk0123456789abcdef0123456789abcd",
    "NW_RT_NORTH": "Nk0123456789abcdef0123456789abcd",
    "NW_RT_CORE": "Ck0123456789abcdef0123456789abcd",
    "NW_RT_CRIT": "Xk0123456789abcdef0123456789abcd",
}
DEFAULT, NORTH, CORE, CRIT = KEYS.values()
NOW = 1_796_306_148.0

INVENTORY = """
[pagerduty]
routing_key = "env:NW_RT_DEFAULT"
[http]
status_page_url = "https://noc.isp.example/"
[paging]
device_url = "https://{address}/admin?dev={id}&site={site}"
[[paging.routes]]
name = "core gear"
tags = ["core", "backbone"]
routing_key = "env:NW_RT_CORE"
[[paging.routes]]
sites = ["north"]
severities = ["critical"]
routing_key = "env:NW_RT_CRIT"
[[paging.routes]]
sites = ["north"]
routing_key = "env:NW_RT_NORTH"
email = ["north@isp.example"]
[defaults]
profile = "ping-only"
[[devices]]
id = "core-1"
address = "192.0.2.1"
site = "north"
tags = ["core"]
[[devices]]
id = "radio-n"
address = "2001:db8::5"
site = "north"
[[devices]]
id = "radio-s"
address = "192.0.2.9"
site = "south"
"""


def write(tmp_path: Path, text: str = INVENTORY) -> Path:
    path = tmp_path / "devices.toml"
    path.write_text(text)
    return path


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)


def alert(device_id: str, level: Level = Level.WARNING) -> DeviceAlert:
    severity = "critical" if level is Level.CRITICAL else "warning"
    return DeviceAlert(
        device_id=device_id,
        name=device_id,
        address="192.0.2.1",
        site="north",
        failing=(FailingCheck("cpu", level, 95.0, "%", 90.0),),
        since=NOW,
        severity=severity,
    )


def test_first_matching_rule_wins_else_the_default(tmp_path: Path, keys: None) -> None:
    plan = plan_for(load_inventory(write(tmp_path)))
    cases = [
        ("core-1", "critical", CORE, "core gear"),  # tags rule comes first
        ("radio-n", "critical", CRIT, "rule 2"),
        ("radio-n", "warning", NORTH, "rule 3"),
        ("radio-n", None, NORTH, "rule 3"),  # resolves/acks carry no severity
        ("radio-s", "critical", DEFAULT, "default"),
        ("not-in-inventory", "critical", DEFAULT, "default"),
    ]
    for device_id, severity, key, label in cases:
        route = plan.route_for(device_id, severity)
        assert (route.routing_key, route.label) == (key, label), (device_id, severity)
    assert plan.route_for("radio-n").email_to == ("north@isp.example",)
    assert plan.route_for("radio-s").email_to == ()
    assert plan.routing_keys() == [DEFAULT, CORE, CRIT, NORTH]
    for secret in KEYS.values():
        assert secret not in repr(plan) and secret not in str(plan.route_for("core-1"))
    assert routing_key_fingerprint(CORE) in str(plan.route_for("core-1"))


def test_links_to_the_device_ui_and_the_status_page(tmp_path: Path, keys: None) -> None:
    plan = plan_for(load_inventory(write(tmp_path)))
    assert plan.links_for("radio-s") == [
        ("https://192.0.2.9/admin?dev=radio-s&site=south", "radio-s: web UI"),
        ("https://noc.isp.example/", "netwatch status page"),
    ]
    # PagerDuty's "url" format refuses IPv6 literals: only the status page link
    assert plan.links_for("radio-n") == [("https://noc.isp.example/", "netwatch status page")]
    notifier = Notifier.for_inventory(load_inventory(write(tmp_path)))
    outcome = CycleOutcome(
        {"radio-n": DeviceState(phase=Phase.ALERTING, incident_open=True)},
        [],
        [alert("radio-n", Level.CRITICAL)],
        [],
    )
    (event,) = notifier.events_for(outcome, NOW)
    assert event["routing_key"] == CRIT
    assert [link["href"] for link in event["links"]] == ["https://noc.isp.example/"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('routing_key = "env:NW_RT_CORE"', "must be a reference"),
        ('routing_key = "env:NW_RT_MISSING"', "NW_RT_MISSING is not set"),
    ],
)
def test_bad_rule_keys_are_located_and_never_echoed(
    tmp_path: Path, keys: None, change: str, message: str
) -> None:
    text = INVENTORY.replace(
        'routing_key = "env:NW_RT_CORE"', change.replace("env:NW_RT_CORE", CORE)
    )
    with pytest.raises(InventoryError) as caught:
        load_inventory(write(tmp_path, text))
    assert message in str(caught.value)
    assert "paging.routes" in str(caught.value)
    for secret in KEYS.values():
        assert secret not in str(caught.value)


def test_rules_need_a_default_key(tmp_path: Path, keys: None) -> None:
    text = INVENTORY.replace('routing_key = "env:NW_RT_DEFAULT"', "")
    with pytest.raises(InventoryError, match=r"needs \[pagerduty\] routing_key"):
        load_inventory(write(tmp_path, text))


def test_bad_url_template_is_an_error(tmp_path: Path, keys: None) -> None:
    text = INVENTORY.replace("dev={id}", "dev={name}")
    with pytest.raises(InventoryError, match="device_url may use only"):
        load_inventory(write(tmp_path, text))


def test_follow_ups_go_with_the_triggers_routing_key_after_the_rules_change() -> None:
    pending = PendingEvents()
    pending.submit(trigger_event(alert("radio-n"), routing_key=NORTH, now=NOW))
    sent = pending.take()
    assert sent is not None and sent["routing_key"] == NORTH
    pending.finish(sent, Decision.DONE)
    # a reload moved radio-n to another key: the re-send and the resolve still follow NORTH
    pending.submit(trigger_event(alert("radio-n", Level.CRITICAL), routing_key=CRIT, now=NOW))
    resend = pending.take()
    assert resend is not None and resend["routing_key"] == NORTH
    pending.finish(resend, Decision.DONE)
    pending.submit(resolve_event("radio-n", routing_key=CRIT))
    resolve = pending.take()
    assert resolve is not None and resolve["routing_key"] == NORTH
    pending.finish(resolve, Decision.DONE)
    # the next incident is a new trigger: it follows the rules in force
    pending.submit(trigger_event(alert("radio-n"), routing_key=CRIT, now=NOW))
    fresh = pending.take()
    assert fresh is not None and fresh["routing_key"] == CRIT


def test_pinned_key_survives_a_restart_and_the_store_holds_no_key(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    outbox = DurableOutbox(store, [NORTH, CRIT])
    pending = PendingEvents()
    key = pending.submit(trigger_event(alert("radio-n"), routing_key=NORTH, now=NOW))
    event = pending.take()
    assert event is not None
    pending.finish(event, Decision.DONE)
    pending.submit(resolve_event("radio-n", routing_key=CRIT))
    outbox.save(pending.record(key))
    store.close()
    raw = (tmp_path / "state.db").read_bytes()
    assert NORTH.encode() not in raw and CRIT.encode() not in raw
    store = open_store(tmp_path / "state.db")
    restarted = PendingEvents(restored=DurableOutbox(store, [NORTH, CRIT]).load())
    resolve = restarted.take()
    store.close()
    assert resolve is not None and resolve["event_action"] == "resolve"
    assert resolve["routing_key"] == NORTH


def maintenance_outcome(entering: bool) -> tuple[dict[str, DeviceState], CycleOutcome]:
    open_state = DeviceState(phase=Phase.ALERTING, incident_open=True)
    before = {"radio-n": open_state, "radio-s": open_state}
    after = {
        "radio-n": replace(open_state, in_maintenance=entering),
        "radio-s": open_state,
    }
    outcome = CycleOutcome(after, [], [alert("radio-n"), alert("radio-s")], [])
    return before, outcome


def test_entering_maintenance_while_alerting_acknowledges_once(tmp_path: Path, keys: None) -> None:
    notifier = Notifier.for_inventory(load_inventory(write(tmp_path)))
    before, outcome = maintenance_outcome(entering=True)
    events = notifier.events_for(outcome, NOW, before=before)
    acks = [e for e in events if e["event_action"] == "acknowledge"]
    assert [(a["dedup_key"], a["routing_key"]) for a in acks] == [(dedup_key_for("radio-n"), NORTH)]
    assert acks[0]["payload"]["summary"] == f"acknowledged from netwatch: {MAINTENANCE_NOTE}"
    # still in maintenance next cycle: no second acknowledge
    still = {d: s for d, s in outcome.states.items()}
    again = notifier.events_for(replace(outcome, states=still), NOW + 60, before=still)
    assert [e for e in again if e["event_action"] == "acknowledge"] == []


def test_ack_on_maintenance_can_be_turned_off(tmp_path: Path, keys: None) -> None:
    text = INVENTORY.replace("[paging]\n", "[paging]\nack_on_maintenance = false\n")
    notifier = Notifier.for_inventory(load_inventory(write(tmp_path, text)))
    before, outcome = maintenance_outcome(entering=True)
    events = notifier.events_for(outcome, NOW, before=before)
    # radio-n, now in maintenance, gets no acknowledge (and, like any device in a window, no
    # trigger: tests/test_paging_maintenance.py); radio-s pages as usual
    assert [(e["event_action"], e["dedup_key"]) for e in events] == [
        ("trigger", dedup_key_for("radio-s"))
    ]
