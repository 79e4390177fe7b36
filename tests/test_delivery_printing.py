"""The dry-run channel prints what would be sent, without the routing key."""

from __future__ import annotations

import io
import json

import pytest
import trio

from netwatch.delivery import DRY_RUN_HEADER, ROUTING_KEY_PLACEHOLDER, PrintingSender
from netwatch.events import resolve_event

SECRET = "S3cr3tS3cr3tS3cr3tS3cr3tS3cr3t00"


async def test_prints_each_event_as_indented_json_under_a_header() -> None:
    stream = io.StringIO()
    sender = PrintingSender(stream)
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        sender.submit(resolve_event("core-rtr-1", routing_key=SECRET))
        sender.submit(resolve_event("edge-ä", routing_key=""))
        nursery.cancel_scope.cancel()

    blocks = stream.getvalue().split(DRY_RUN_HEADER + "\n")
    assert blocks[0] == ""
    printed = [json.loads(block) for block in blocks[1:]]
    assert printed == [
        {
            "routing_key": ROUTING_KEY_PLACEHOLDER,
            "event_action": "resolve",
            "dedup_key": "netwatch/core-rtr-1",
        },
        {
            "routing_key": ROUTING_KEY_PLACEHOLDER,
            "event_action": "resolve",
            "dedup_key": "netwatch/edge-ä",
        },
    ]
    assert '\n  "event_action"' in stream.getvalue()
    assert "edge-ä" in stream.getvalue()
    assert SECRET not in stream.getvalue()
    assert sender.pending() == 0


def test_defaults_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    PrintingSender().submit(resolve_event("d1", routing_key=SECRET))
    out = capsys.readouterr().out
    assert out.startswith(DRY_RUN_HEADER + "\n{")
    assert SECRET not in out


def test_an_unchanged_re_send_is_one_line_and_a_change_is_printed_whole() -> None:
    def trigger(summary: str, severity: str = "critical") -> dict[str, object]:
        return {
            "routing_key": SECRET,
            "event_action": "trigger",
            "dedup_key": "netwatch/tower-1",
            "payload": {"summary": summary, "severity": severity, "source": "192.0.2.1"},
        }

    stream = io.StringIO()
    sender = PrintingSender(stream)
    for event in (
        trigger("cpu 95 %"),
        trigger("cpu 95 %"),  # the minute re-send
        trigger("cpu 95 %; temperature 85 °C"),
        resolve_event("tower-1", routing_key=SECRET),
        trigger("cpu 95 %; temperature 85 °C"),  # a new incident: printed whole again
    ):
        sender.submit(event)
    out = stream.getvalue()
    assert out.count(DRY_RUN_HEADER) == 4
    assert out.count("would re-send to PagerDuty: trigger netwatch/tower-1 (unchanged)") == 1
    assert SECRET not in out
