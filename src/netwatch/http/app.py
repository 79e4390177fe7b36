"""The daemon's web app, plain ASGI (a handful of routes needs no framework)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from importlib import resources
from typing import Any

from netwatch.http.context import HttpContext
from netwatch.http.metrics import CONTENT_TYPE, NetwatchMetrics
from netwatch.http.views import descendants, device_view, devices_view
from netwatch.webhooks import (
    MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    WEBHOOK_ID_HEADER,
    WebhookFormatError,
    parse_event,
    signature_valid,
)

log = logging.getLogger("netwatch.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HTML = "text/html; charset=utf-8"
JSON = "application/json"
HISTORY_LIMIT = 20


class BodyTooLarge(Exception):
    pass


def noc_page() -> bytes:
    return (resources.files("netwatch.http") / "noc.html").read_bytes()


class NocApp:
    def __init__(self, context: HttpContext, metrics: NetwatchMetrics | None = None) -> None:
        self.context = context
        self.metrics = metrics or NetwatchMetrics()
        self.metrics.attach(context)
        self._page = noc_page()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if path == "/webhooks/pagerduty":
            if method != "POST":
                await _respond(send, 405, {"error": "POST only"}, allow="POST")
                return
            await self._webhook(scope, receive, send)
            return
        if method not in ("GET", "HEAD"):
            await _respond(send, 405, {"error": "GET only"}, allow="GET, HEAD")
            return
        status, body, content_type = self._get(path)
        await _send(send, status, body, content_type, head=method == "HEAD")

    def _get(self, path: str) -> tuple[int, bytes, str]:
        ctx = self.context
        if path == "/":
            return 200, self._page, HTML
        if path == "/healthz":
            return 200, _json({"status": "ok"}), JSON
        if path == "/readyz":
            ready, detail = ctx.readiness()
            return (200 if ready else 503), _json(detail), JSON
        if path == "/metrics":
            return 200, self.metrics.render(), CONTENT_TYPE
        if path in ("/api/devices", "/api/status"):
            return 200, _json(self._status(full=path == "/api/status")), JSON
        if path.startswith("/api/devices/"):
            return self._device(path.removeprefix("/api/devices/"))
        if path == "/api/oncall":
            if ctx.oncall is None:
                return 404, _json({"error": "no PagerDuty API token configured"}), JSON
            return 200, _json(ctx.oncall.snapshot.as_json(ctx.wall_clock())), JSON
        return 404, _json({"error": f"no such page: {path}"}), JSON

    def _status(self, *, full: bool) -> dict[str, Any]:
        ctx = self.context
        now = ctx.wall_clock()
        monitor = ctx.monitor
        samples = ctx.observer.last_samples if ctx.observer is not None else {}
        status: dict[str, Any] = {
            "generated_at": now,
            "devices": devices_view(
                monitor.inventory.devices, monitor.states, samples, ctx.latest_activity(), now
            ),
        }
        if full:
            _, readiness = ctx.readiness()
            status.update(
                # lets `netwatch status` tell its own daemon from another one on the port
                inventory=str(monitor.inventory.source.resolve()),
                interval=monitor.inventory.settings.interval,
                cycles=monitor.cycles,
                readiness=readiness,
                status_page_url=ctx.status_page_url,
                oncall=ctx.oncall.snapshot.as_json(now) if ctx.oncall is not None else None,
            )
        return status

    def _device(self, device_id: str) -> tuple[int, bytes, str]:
        ctx = self.context
        now = ctx.wall_clock()
        devices = ctx.monitor.inventory.devices
        device = next((d for d in devices if d.id == device_id), None)
        if device is None:
            return 404, _json({"error": f"no device {device_id!r}"}), JSON
        samples = ctx.observer.last_samples if ctx.observer is not None else {}
        view = device_view(
            device,
            ctx.monitor.states.get(device.id),
            samples.get(device.id),
            behind=descendants(devices).get(device.id, []),
            states=ctx.monitor.states,
            activity=None,
            now=now,
        )
        key = view["incident_key"]
        activities = (
            ctx.webhook_log.for_device(device.id, key, HISTORY_LIMIT)
            if ctx.webhook_log is not None
            else []
        )
        view["activity"] = None
        if activities:
            latest = activities[0]
            view["activity"] = {
                **latest.as_json(),
                "age_seconds": max(0.0, now - latest.activity.occurred_at),
            }
        view["activity_log"] = [a.as_json() for a in activities]
        view["incident_history"] = (
            list(ctx.history.incidents_of(device.id, HISTORY_LIMIT))
            if ctx.history is not None
            else None
        )
        return 200, _json(view), JSON

    async def _webhook(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = self.context
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            body = await _read_body(receive, MAX_BODY_BYTES)
        except BodyTooLarge:
            self.metrics.count_webhook("too-large")
            await _respond(send, 413, {"error": "body too large"})
            return
        if not ctx.webhook_secrets or not signature_valid(
            body, headers.get(SIGNATURE_HEADER), ctx.webhook_secrets
        ):
            self.metrics.count_webhook("bad-signature")
            log.warning("webhook rejected: missing or bad X-PagerDuty-Signature")
            await _respond(send, 403, {"error": "signature missing or invalid"})
            return
        webhook_id = headers.get(WEBHOOK_ID_HEADER)
        if not webhook_id:
            self.metrics.count_webhook("malformed")
            await _respond(send, 400, {"error": "X-Webhook-Id missing"})
            return
        try:
            activity = parse_event(body)
        except WebhookFormatError as exc:
            self.metrics.count_webhook("malformed")
            log.warning("webhook %s rejected: %s", webhook_id, exc)
            await _respond(send, 400, {"error": str(exc)})
            return
        if ctx.webhook_log is None:
            await _respond(send, 503, {"error": "no store for webhooks"})
            return
        device_id = ctx.device_for_key(activity.incident_key if activity else None)
        stored = ctx.webhook_log.record(
            webhook_id, activity, device_id=device_id, received_at=ctx.wall_clock()
        )
        result = "stored" if stored and activity else "ignored" if stored else "duplicate"
        self.metrics.count_webhook(result)
        if stored and activity is not None:
            log.info(
                "PagerDuty: incident #%s %s by %s (%s)",
                activity.incident_number,
                activity.action,
                activity.agent or "PagerDuty",
                device_id or f"key {activity.incident_key}",
            )
        await _respond(send, 200, {"status": result})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, allow_nan=False).encode()


async def _respond(send: Send, status: int, value: Any, *, allow: str | None = None) -> None:
    extra = [(b"allow", allow.encode())] if allow else []
    await _send(send, status, _json(value), JSON, extra=extra)


async def _send(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    *,
    head: bool = False,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})
