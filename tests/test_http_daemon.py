"""The web side of the real daemon over real HTTP on a random loopback port: health,
readiness, metrics, the JSON API (never a secret), and PagerDuty webhooks end to end."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
from support.web_daemon import INVENTORY, SECRETS, running_web_daemon

from netwatch.engine import Phase
from netwatch.webhooks import sign

OLD, NEW = SECRETS["NW_TEST_HOOK_OLD"].encode(), SECRETS["NW_TEST_HOOK_NEW"].encode()


def webhook_body(
    event_type: str = "incident.acknowledged",
    *,
    event_id: str = "01EVENT",
    key: str = "netwatch/radio-dead",
    agent: str | None = "Jane Tech",
    occurred_at: str = "2026-01-01T10:00:00Z",
) -> bytes:
    event = {
        "event": {
            "id": event_id,
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": occurred_at,
            "agent": {"id": "PUSER1", "type": "user_reference", "summary": agent}
            if agent
            else None,
            "client": None,
            "data": {
                "id": "PINC123",
                "type": "incident",
                "number": 42,
                "title": "radio-dead (127.0.0.3): snmp timeout",
                "status": "acknowledged",
                "html_url": "https://example.pagerduty.com/incidents/PINC123",
                "incident_key": key,
                "assignees": [{"id": "PUSER1", "type": "user_reference", "summary": "Jane Tech"}],
            },
        }
    }
    return json.dumps(event).encode()


async def post_hook(
    client: httpx.AsyncClient, body: bytes, signature: str | None, webhook_id: str | None = "W1"
) -> httpx.Response:
    headers = {"Content-Type": "application/json", "User-Agent": "PagerDuty-Webhook/V3.0"}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature
    if webhook_id is not None:
        headers["X-Webhook-Id"] = webhook_id
    return await client.post("/webhooks/pagerduty", content=body, headers=headers)


async def test_health_ready_and_metrics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_web_daemon(tmp_path, monkeypatch) as daemon:
        assert daemon.url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=daemon.url) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            await daemon.wait_cycles(2)
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["devices"] == 3
            metrics = (await client.get("/metrics")).text
    lines = set(metrics.splitlines())
    assert 'netwatch_device_up{device="core-rtr",site="north"} 1.0' in lines
    assert 'netwatch_device_loss_ratio{device="core-rtr",site="north"} 0.0' in lines
    assert 'netwatch_device_phase{device="radio-dead",phase="alerting",site="south"} 1.0' in lines
    assert 'netwatch_device_check_level{check="snmp",device="radio-dead",site="south"} 1.0' in lines
    assert 'netwatch_snmp_errors_total{kind="timeout"}' in {line.split(" ")[0] for line in lines}
    for name in (
        "netwatch_device_rtt_seconds",
        "netwatch_device_last_poll_age_seconds",
        "netwatch_poll_duration_seconds_count",
        "netwatch_cycle_duration_seconds_count",
        "netwatch_outbox_depth",
        "netwatch_cycles_total",
    ):
        assert any(line.startswith(name) for line in lines), name


async def test_device_api_states_and_no_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_web_daemon(tmp_path, monkeypatch) as daemon:
        await daemon.wait_cycles(1)
        async with httpx.AsyncClient(base_url=daemon.url) as client:
            listing = await client.get("/api/devices")
            status = await client.get("/api/status")
            detail = await client.get("/api/devices/radio-dead")
            missing = await client.get("/api/devices/nope")
            everything = [
                (await client.get(path)).text
                for path in ("/", "/metrics", "/readyz", "/api/devices/core-rtr", "/api/oncall")
            ]
    devices = listing.json()["devices"]
    assert devices[0]["id"] == "radio-dead", devices  # failing first
    by_id = {d["id"]: d for d in devices}
    assert by_id["radio-dead"]["phase"] == Phase.ALERTING.value
    assert [c["check"] for c in by_id["radio-dead"]["failing"]] == ["snmp"]
    assert by_id["radio-dead"]["failing_since"] is not None
    assert by_id["radio-dead"]["profile"] == "linux"
    assert by_id["radio-dead"]["snmp"] == {"version": "2c", "port": 9}
    assert by_id["core-rtr"]["behind"] == 1
    assert by_id["sector-a"]["parent"] == "core-rtr"
    assert detail.json()["incident_key"] == "netwatch/radio-dead"
    assert detail.json()["activity_log"] == []
    assert missing.status_code == 404
    assert status.json()["readiness"]["devices"] == 3
    for text in [listing.text, status.text, detail.text, missing.text, *everything]:
        for secret in SECRETS.values():
            assert secret not in text


async def test_webhooks_signed_rotated_tampered_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    body = webhook_body()
    async with running_web_daemon(tmp_path, monkeypatch) as daemon:
        await daemon.wait_cycles(1)
        phase_before = daemon.monitor.states["radio-dead"]
        async with httpx.AsyncClient(base_url=daemon.url) as client:
            missing = await post_hook(client, body, None)
            wrong = await post_hook(client, body, sign(body, b"not-our-secret"))
            tampered = await post_hook(
                client, body.replace(b"Jane Tech", b"Mallory"), sign(body, NEW)
            )
            garbage = await post_hook(client, body, "v1=zz, v0=" + sign(body, NEW)[3:])
            empty = await post_hook(client, body, "")
            after_rejects = (await client.get("/api/devices/radio-dead")).json()
            # during rotation PagerDuty sends both; either secret alone also works
            rotated = await post_hook(
                client, body, f"{sign(body, b'retired')},{sign(body, NEW)}", "W1"
            )
            replay = await post_hook(client, body, sign(body, NEW), "W1")
            old_secret = await post_hook(
                client,
                webhook_body("incident.annotated", event_id="02EVENT"),
                sign(webhook_body("incident.annotated", event_id="02EVENT"), OLD),
                "W2",
            )
            no_id = await post_hook(client, body, sign(body, NEW), None)
            detail = (await client.get("/api/devices/radio-dead")).json()
            listing = (await client.get("/api/devices")).json()
            metrics = (await client.get("/metrics")).text
        phase_after = daemon.monitor.states["radio-dead"]
    for rejected in (missing, wrong, tampered, garbage, empty):
        assert rejected.status_code == 403
    assert after_rejects["activity_log"] == []
    assert rotated.status_code == 200 and rotated.json() == {"status": "stored"}
    assert replay.status_code == 200 and replay.json() == {"status": "duplicate"}
    assert old_secret.json() == {"status": "stored"}
    assert no_id.status_code == 400
    actions = [(a["action"], a["by"]) for a in detail["activity_log"]]
    assert sorted(actions) == [("acknowledged", "Jane Tech"), ("annotated", "Jane Tech")]
    assert {a["device_id"] for a in detail["activity_log"]} == {"radio-dead"}
    radio = next(d for d in listing["devices"] if d["id"] == "radio-dead")
    assert radio["activity"]["incident_number"] == 42
    assert radio["activity"]["assignees"] == ["Jane Tech"]
    assert 'netwatch_webhooks_total{result="bad-signature"} 5.0' in metrics
    assert 'netwatch_webhooks_total{result="duplicate"} 1.0' in metrics
    # a webhook never changes alert state
    assert phase_after.incident_open and phase_before.incident_open
    assert phase_after.phase is Phase.ALERTING
    for secret in SECRETS.values():
        assert secret not in caplog.text


async def test_unmatched_and_non_incident_webhooks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = webhook_body(key="another-tool/key", event_id="03EVENT")
    service = json.dumps(
        {"event": {"id": "04", "event_type": "service.updated", "resource_type": "service"}}
    ).encode()
    async with (
        running_web_daemon(tmp_path, monkeypatch) as daemon,
        httpx.AsyncClient(base_url=daemon.url) as client,
    ):
        unmatched = await post_hook(client, other, sign(other, NEW), "W10")
        ignored = await post_hook(client, service, sign(service, NEW), "W11")
        bad_json = await post_hook(client, b"{nope", sign(b"{nope", NEW), "W12")
        big = b"x" * 1_000_001
        too_big = await post_hook(client, big, sign(big, NEW), "W13")
        get = await client.get("/webhooks/pagerduty")
    assert unmatched.json() == {"status": "stored"}
    assert ignored.json() == {"status": "ignored"}
    assert bad_json.status_code == 400
    assert too_big.status_code == 413
    assert get.status_code == 405


async def test_a_taken_port_does_not_stop_monitoring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        text = INVENTORY.replace("[http]\nport = 0\n", f"[http]\nport = {port}\n")
        assert text != INVENTORY
        async with running_web_daemon(tmp_path, monkeypatch, text=text) as daemon:
            await daemon.wait_cycles(1)
            assert daemon.url == ""
            assert daemon.monitor.states["radio-dead"].phase is Phase.ALERTING
    finally:
        taken.close()
    assert f"cannot listen on 127.0.0.1 port {port} (Address already in use)" in caplog.text
    assert "Exceptions from Trio nursery" not in caplog.text
