"""The PagerDuty stand-in itself: the limits and dedup rules the delivery tests rely on."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from support.pagerduty import PagerDutyStandIn

KEY = "R0123456789abcdef0123456789abcde"


def trigger(dedup_key: str = "dev-1", **payload: Any) -> dict[str, Any]:
    body = {"summary": "x", "severity": "critical", "source": "192.0.2.1", **payload}
    return {"routing_key": KEY, "event_action": "trigger", "dedup_key": dedup_key, "payload": body}


def send(standin: PagerDutyStandIn, event: dict[str, Any] | bytes) -> httpx.Response:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    return httpx.post(standin.url, content=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (trigger(summary="s" * 1025), "summary"),
        (trigger(summary=""), "summary"),
        (trigger("k" * 256), "dedup_key"),
        (trigger(severity="ok"), "severity"),
        (trigger(source=""), "source"),
        (trigger(timestamp="yesterday"), "timestamp"),
        ({**trigger(), "routing_key": KEY[:31]}, "routing_key"),
        ({**trigger(), "event_action": "explode"}, "event_action"),
        ({"routing_key": KEY, "event_action": "resolve"}, "dedup_key"),
        ({"routing_key": KEY, "event_action": "trigger"}, "payload"),
        (trigger(custom_details={"blob": "b" * 512_000}), "size"),
        (b"{not json", "JSON"),
    ],
)
def test_invalid_events_get_400_with_errors(
    pagerduty_standin: PagerDutyStandIn, event: dict[str, Any] | bytes, error: str
) -> None:
    response = send(pagerduty_standin, event)
    assert response.status_code == 400
    assert any(error in message for message in response.json()["errors"])
    assert pagerduty_standin.events == []


@pytest.mark.parametrize(
    "event",
    [trigger(summary="é" * 1024), trigger("k" * 255), trigger(severity="info")],
)
def test_events_at_the_limits_are_accepted(
    pagerduty_standin: PagerDutyStandIn, event: dict[str, Any]
) -> None:
    response = send(pagerduty_standin, event)
    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": event["dedup_key"],
    }


def test_dedup_semantics(pagerduty_standin: PagerDutyStandIn) -> None:
    resolve = {"routing_key": KEY, "event_action": "resolve", "dedup_key": "dev-1"}
    assert send(pagerduty_standin, resolve).status_code == 202  # unknown key: ignored
    assert pagerduty_standin.incidents == []
    send(pagerduty_standin, trigger(summary="first"))
    send(pagerduty_standin, trigger(summary="second"))
    [incident] = pagerduty_standin.incidents
    assert (incident.summary, len(incident.log)) == ("second", 2)
    other_key = {**resolve, "routing_key": "Z" * 32}
    send(pagerduty_standin, other_key)  # follow-ups only apply with the trigger's key
    assert incident.status == "triggered"
    send(pagerduty_standin, resolve)
    assert (incident.status, incident.resolved_by) == ("resolved", "event")
    send(pagerduty_standin, trigger(summary="third"))
    assert [i.status for i in pagerduty_standin.incidents] == ["resolved", "triggered"]


def test_resolve_by_person(pagerduty_standin: PagerDutyStandIn) -> None:
    send(pagerduty_standin, trigger())
    pagerduty_standin.resolve_by_person("dev-1")
    assert pagerduty_standin.open_incidents() == {}
    with pytest.raises(KeyError):
        pagerduty_standin.resolve_by_person("dev-1")


def test_rate_limit_per_routing_key(pagerduty_standin: PagerDutyStandIn) -> None:
    pagerduty_standin.rate_limit, pagerduty_standin.window = 2, 60.0
    assert [send(pagerduty_standin, trigger(f"d{i}")).status_code for i in range(3)] == [
        202,
        202,
        429,
    ]
    throttled = send(pagerduty_standin, trigger("d9"))
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 60
    other_key = {**trigger("d9"), "routing_key": "Z" * 32}
    assert send(pagerduty_standin, other_key).status_code == 202


def test_scripted_failures_change_nothing(pagerduty_standin: PagerDutyStandIn) -> None:
    pagerduty_standin.fail_next(2, 503)
    assert [send(pagerduty_standin, trigger()).status_code for _ in range(3)] == [503, 503, 202]
    assert len(pagerduty_standin.events) == 1


def test_a_hung_request_times_out(pagerduty_standin: PagerDutyStandIn) -> None:
    pagerduty_standin.hang_next(1)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(pagerduty_standin.url, json=trigger(), timeout=0.2)
    assert send(pagerduty_standin, trigger()).status_code == 202
