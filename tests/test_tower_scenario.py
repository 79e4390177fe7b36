"""A tower with 3 sectors and 200 CPEs goes down and partly comes back, through the real
Monitor, engine, notifier and store on the autojump clock, with scripted samples."""

from __future__ import annotations

from pathlib import Path

import trio
from test_alert_state import FunctionProber
from test_engine import down, up
from test_monitor_cycle import RecordingSender

from netwatch.events import dedup_key_for
from netwatch.inventory import parse_inventory
from netwatch.monitor import Monitor
from netwatch.notifier import Notifier
from netwatch.samples import Sample
from netwatch.store import open_store
from netwatch.store.alert_state import AlertStateStore

SECTORS = ["sector-1", "sector-2", "sector-3"]
CPES = [f"cpe-{n:03d}" for n in range(200)]
SECTOR_OF = {cpe: SECTORS[n % 3] for n, cpe in enumerate(CPES)}
STILL_DOWN_CPES = ["cpe-000", "cpe-003"]  # behind sector-1, which comes back


def site_inventory() -> str:
    parts = [
        '[netwatch]\ninterval = "60s"\n[pagerduty]\nresend_interval = "5m"\n'
        '[defaults]\nprofile = "ping-only"\nhold_down = "2m"\nrecovery = "2m"\n'
        '[[devices]]\nid = "tower"\naddress = "198.51.100.1"\nsite = "hill"\n'
    ]
    for n, sector in enumerate(SECTORS):
        parts.append(
            f'[[devices]]\nid = "{sector}"\naddress = "198.51.100.{10 + n}"\nparent = "tower"\n'
        )
    for n, cpe in enumerate(CPES):
        parts.append(
            f'[[devices]]\nid = "{cpe}"\naddress = "10.0.{n // 250}.{n % 250 + 1}"\n'
            f'parent = "{SECTOR_OF[cpe]}"\n'
        )
    return "".join(parts)


def is_down(device_id: str, t: float) -> bool:
    """Everything down from 100 s; from 590 s the tower is back, sectors 1 and 2 and their
    CPEs too, except two CPEs; sector-3 and its CPEs stay down."""
    if t < 100:
        return False
    if t < 590:
        return True
    if device_id in STILL_DOWN_CPES or device_id == "sector-3":
        return True
    return SECTOR_OF.get(device_id) == "sector-3"


def script(device_id: str, t: float) -> Sample:
    return down(device_id, t) if is_down(device_id, t) else up(device_id, t)


async def test_tower_down_then_partly_back(
    autojump_clock: trio.testing.MockClock, tmp_path: Path
) -> None:
    inventory = parse_inventory(site_inventory(), tmp_path / "devices.toml")
    start = trio.current_time()
    sender = RecordingSender()
    store = open_store(tmp_path / "state.db")
    alert_store = AlertStateStore(store)
    monitor = Monitor(
        inventory,
        FunctionProber(script, start),
        sender,
        notifier=Notifier(routing_key="R" * 32, resend_interval=300),
        wall_clock=lambda: trio.current_time() - start,
        alert_store=alert_store,
    )
    with trio.move_on_after(1000):
        async with trio.open_nursery() as nursery:
            await nursery.start(monitor.run)

    sent = [(round(at - start), e) for at, e in sender.sent]
    timeline = [(at, e["event_action"], e["dedup_key"]) for at, e in sent]
    # Down from the poll at 120 s: the tower alone pages two minutes later, at 240 s, and
    # is re-sent at 540 s. Nothing of the 203 devices behind it pages.
    assert timeline[:2] == [
        (240, "trigger", dedup_key_for("tower")),
        (540, "trigger", dedup_key_for("tower")),
    ]
    tower_trigger = sent[0][1]
    behind = sorted([*SECTORS, *CPES])
    assert tower_trigger["payload"]["summary"].endswith("; 203 devices behind it unreachable")
    assert tower_trigger["payload"]["custom_details"]["unreachable_children"] == behind
    # Back at the poll at 600 s: the tower's recovery hold ends at 720 s. What is still down
    # starts its own hold-down at 600 s and pages at 720 s: sector-3 (with its CPEs behind
    # it) and the two CPEs behind sector-1. Nothing else, ever.
    sector3_cpes = sorted(c for c in CPES if SECTOR_OF[c] == "sector-3")
    assert sorted(timeline[2:]) == sorted(
        [
            (720, "resolve", dedup_key_for("tower")),
            (720, "trigger", dedup_key_for("sector-3")),
            (720, "trigger", dedup_key_for("cpe-000")),
            (720, "trigger", dedup_key_for("cpe-003")),
        ]
    )
    by_key = {e["dedup_key"]: e for _, e in sent[2:]}
    sector3 = by_key[dedup_key_for("sector-3")]["payload"]
    assert sector3["custom_details"]["unreachable_children"] == sector3_cpes
    assert sector3["summary"].endswith(f"; {len(sector3_cpes)} devices behind it unreachable")
    assert sector3["custom_details"]["failing_since"] == "1970-01-01T00:10:00.000Z"

    # The store says the same: one incident each, the tower's closed.
    (tower,) = alert_store.incidents("tower")
    assert (round(tower.opened_at), round(tower.resolved_at or 0)) == (240, 720)
    for device_id in ("sector-3", "cpe-000", "cpe-003"):
        (incident,) = alert_store.incidents(device_id)
        assert (round(incident.opened_at), incident.resolved_at) == (720, None)
    assert alert_store.incidents("cpe-001") == []
    states = alert_store.load().states
    assert len(states) == 204
    assert {d for d, s in states.items() if s.incident_open} == {"sector-3", *STILL_DOWN_CPES}
