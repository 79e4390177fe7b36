"""Webhook signature rules and event parsing, pure (the HTTP path is in test_http_daemon)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from netwatch.store import open_store
from netwatch.store.webhooks import WebhookLog
from netwatch.webhooks import WebhookFormatError, parse_event, sign, signature_valid

BODY = b'{"event":{"id":"E1"}}'
A, B = b"secret-a", b"secret-b"


def hex_of(body: bytes, secret: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("header", "secrets", "valid"),
    [
        (f"v1={hex_of(BODY, A)}", [A], True),
        (f"v1={hex_of(BODY, A).upper()}", [A], True),
        (f"v1={hex_of(BODY, B)}", [A, B], True),  # second configured secret
        (f"v1=deadbeef, v1={hex_of(BODY, A)}", [A], True),  # rotation: any entry
        (f"v1={hex_of(BODY, A)},v1={hex_of(BODY, B)}", [B], True),
        (f"v1={hex_of(BODY, A)}", [B], False),
        (f"v0={hex_of(BODY, A)}", [A], False),  # unknown scheme
        (hex_of(BODY, A), [A], False),  # no scheme
        (f"v1={hex_of(BODY + b' ', A)}", [A], False),  # tampered body
        ("", [A], False),
        (None, [A], False),
        (f"v1={hex_of(BODY, A)}", [], False),  # nothing configured: nothing passes
        ("v1=\u00e9\u00e9", [A], False),
    ],
)
def test_signature_table(header: str | None, secrets: list[bytes], valid: bool) -> None:
    assert signature_valid(BODY, header, secrets) is valid


def test_sign_matches_pagerduty_scheme() -> None:
    assert sign(BODY, A) == "v1=" + hex_of(BODY, A)


def incident(event_type: str, **data: object) -> bytes:
    return json.dumps(
        {
            "event": {
                "id": "E1",
                "event_type": event_type,
                "resource_type": "incident",
                "occurred_at": "2026-01-01T10:00:00.000Z",
                "agent": {"id": "PU", "summary": "Jane Tech"},
                "data": {"id": "PI", "number": 7, "incident_key": "netwatch/x", **data},
            }
        }
    ).encode()


def test_parse_incident_events() -> None:
    acked = parse_event(incident("incident.acknowledged", status="acknowledged"))
    assert acked is not None
    assert (acked.action, acked.agent, acked.incident_key, acked.incident_number) == (
        "acknowledged",
        "Jane Tech",
        "netwatch/x",
        7,
    )
    assert acked.occurred_at == 1767261600.0
    reassigned = parse_event(incident("incident.reassigned", assignees=[{"summary": "Bob"}]))
    assert reassigned is not None and reassigned.assignees == ("Bob",)
    assert parse_event(b'{"event":{"id":"1","event_type":"service.created"}}') is None
    for bad in (
        b"[]",
        b"{",
        b'{"event":{}}',
        incident("incident.resolved").replace(b'"PI"', b'""'),
    ):
        with pytest.raises(WebhookFormatError):
            parse_event(bad)


def test_log_deduplicates_on_webhook_id_and_event_id() -> None:
    store = open_store(":memory:")
    log = WebhookLog(store)
    activity = parse_event(incident("incident.acknowledged"))
    assert log.record("W1", activity, device_id="x", received_at=1.0) is True
    assert log.record("W1", activity, device_id="x", received_at=2.0) is False
    assert log.record("W2", activity, device_id="x", received_at=3.0) is False  # same event id
    assert [a.activity.action for a in log.for_device("x", "netwatch/x")] == ["acknowledged"]
    assert log.latest_by_key(["netwatch/x", "netwatch/y"]).keys() == {"netwatch/x"}
