"""`netwatch ack ID [--note]`: an acknowledge queued in the store's outbox for the daemon."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
import trio.testing
from support.pagerduty import PagerDutyStandIn, StandInTransport

from netwatch.cli import main
from netwatch.delivery import EventsApiSender
from netwatch.store import open_store
from netwatch.store.outbox import DurableOutbox

ROUTING_KEY = "Rk0123456789abcdef0123456789abcd"
INVENTORY = """
[netwatch]
state_db = "netwatch.db"
[pagerduty]
routing_key = "env:NW_ACK_KEY"
[[devices]]
id = "core-1"
address = "192.0.2.1"
profile = "ping-only"
"""


def trigger(key: str) -> dict[str, object]:
    return {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": "down", "severity": "critical", "source": "192.0.2.1"},
    }


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NW_ACK_KEY", ROUTING_KEY)
    path = tmp_path / "devices.toml"
    path.write_text(INVENTORY)
    return path


async def test_ack_is_queued_for_the_daemon_and_delivered_after_the_trigger(
    config: Path, autojump_clock: trio.testing.MockClock, capsys: pytest.CaptureFixture[str]
) -> None:
    pagerduty = PagerDutyStandIn(clock=trio.current_time)
    store = open_store(config.parent / "netwatch.db")
    sender = EventsApiSender(
        transport=StandInTransport(pagerduty), journal=DurableOutbox(store, [ROUTING_KEY])
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        sender.submit(trigger("netwatch/core-1"))
        await trio.sleep(1)
        assert main(["ack", "core-1", "--note", "Ana has it", "--config", str(config)]) == 0
        await trio.sleep(5)
        nursery.cancel_scope.cancel()
    assert [e["event_action"] for e in pagerduty.events] == ["trigger", "acknowledge"]
    assert "Ana has it" in pagerduty.events[1]["payload"]["summary"]
    assert pagerduty.incidents[0].status == "acknowledged"
    out, err = capsys.readouterr()
    assert ROUTING_KEY not in out + err


def test_ack_without_an_open_incident_or_for_an_unknown_device_is_refused(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ack", "core-1", "--config", str(config)]) == 1
    assert "core-1 has no open PagerDuty incident" in capsys.readouterr().err
    assert main(["ack", "nope", "--config", str(config)]) == 1
    assert "no device 'nope'" in capsys.readouterr().err
    store = open_store(config.parent / "netwatch.db")
    assert store.connection.execute("SELECT count(*) FROM outbox_request").fetchone() == (0,)


def test_ack_in_a_dry_run_checks_the_device_first_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "devices.toml"
    config.write_text('[[devices]]\nid = "core-1"\naddress = "192.0.2.1"\nprofile = "ping-only"\n')
    assert main(["ack", "nope", "--config", str(config)]) == 1
    assert "no device 'nope'" in capsys.readouterr().err
    assert main(["ack", "core-1", "--config", str(config)]) == 1
    assert "in a dry run nothing reaches PagerDuty" in capsys.readouterr().err
