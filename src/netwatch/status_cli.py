"""`netwatch status` and `netwatch oncall`: the NOC page's view as a terminal table.

`status` asks the running daemon's API; when nobody answers it reads the state database the
daemon left behind (alert state, webhook log) and says so.
"""

from __future__ import annotations

import ipaddress
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import httpx
import trio

from netwatch.http.views import devices_view
from netwatch.inventory import Inventory
from netwatch.oncall import OncallService, format_age
from netwatch.store import open_store
from netwatch.store.webhooks import WebhookLog

PHASE_COLOURS = {
    "alerting": "\x1b[1;31m",
    "pending": "\x1b[33m",
    "recovering": "\x1b[33m",
    "unreachable": "\x1b[90m",
    "unknown": "\x1b[90m",
    "ok": "\x1b[32m",
}
RESET = "\x1b[0m"
COLUMNS = ("DEVICE", "SITE", "STATE", "FAILING", "SINCE", "PEOPLE", "POLLED")


def daemon_url(inventory: Inventory) -> str | None:
    """Where the local daemon listens, as seen from this host (None: a random port)."""
    http = inventory.http
    if not http.enabled or http.port == 0:
        return None
    host = http.listen
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{http.port}"
    if address.is_unspecified:
        host = "::1" if address.version == 6 else "127.0.0.1"
    return f"http://[{host}]:{http.port}" if ":" in host else f"http://{host}:{http.port}"


def fetch_status(url: str, timeout: float = 3.0) -> dict[str, Any] | None:
    try:
        response = httpx.get(url.rstrip("/") + "/api/status", timeout=timeout)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    body: dict[str, Any] = response.json()
    return body


def status_from_database(inventory: Inventory, now: float) -> dict[str, Any]:
    # Imported here: the alert-state store belongs to the engine's persistence.
    from netwatch.store.alert_state import AlertStateStore, state_db_path

    path = state_db_path(inventory)
    if not path.exists():
        return {"generated_at": now, "devices": [], "source": f"no state database at {path}"}
    store = open_store(path)
    try:
        saved = AlertStateStore(store).load()
        log = WebhookLog(store)
        from netwatch.events import dedup_key_for

        activity = log.latest_by_key(dedup_key_for(d.id) for d in inventory.devices)
    finally:
        store.close()
    age = format_age(None if saved.last_cycle_at is None else now - saved.last_cycle_at)
    return {
        "generated_at": now,
        "devices": devices_view(inventory.devices, saved.states, {}, activity, now),
        "source": f"daemon not running; state database {path} (last cycle {age} ago)",
    }


def _since(view: Mapping[str, Any], now: float) -> str:
    since = view.get("failing_since")
    return format_age(now - since) if since is not None else ""


def _people(view: Mapping[str, Any]) -> str:
    activity = view.get("activity")
    if not activity:
        return ""
    who = activity.get("by") or "PagerDuty"
    return f"{activity['action']} by {who} {format_age(activity.get('age_seconds'))} ago"


def _failing(view: Mapping[str, Any]) -> str:
    parts = []
    for check in view["failing"]:
        value = "" if check["value"] is None else f" {check['value']:g}{check['unit']}"
        parts.append(f"{check['check']}{value} {check['level']}")
    text = "; ".join(parts)
    if view.get("unreachable_behind"):
        text += f" [{view['unreachable_behind']} behind unreachable]"
    return text


def render_status(status: Mapping[str, Any], *, colour: bool) -> str:
    now = float(status["generated_at"])
    rows: list[tuple[str, ...]] = []
    phases: list[str] = []
    for view in status["devices"]:
        polled = view.get("last_poll_age")
        rows.append(
            (
                view["id"],
                view.get("site") or "",
                view["phase"],
                _failing(view),
                _since(view, now),
                _people(view),
                "never" if polled is None else f"{format_age(polled)} ago",
            )
        )
        phases.append(view["phase"])
    lines = [str(status["source"])] if status.get("source") else []
    lines.append(_table(COLUMNS, rows, phases, colour=colour))
    oncall = status.get("oncall")
    if oncall:
        lines.append("")
        lines.append(render_oncall(oncall))
    return "\n".join(lines)


def _table(
    header: Sequence[str], rows: Sequence[Sequence[str]], phases: Sequence[str], *, colour: bool
) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for row, phase in zip(rows, phases, strict=True):
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=True)]
        if colour and phase in PHASE_COLOURS:
            cells[2] = PHASE_COLOURS[phase] + cells[2] + RESET
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def render_oncall(oncall: Mapping[str, Any]) -> str:
    lines = []
    if oncall.get("error"):
        lines.append(
            f"PagerDuty unreachable ({oncall['error']}); "
            f"answer from {format_age(oncall.get('age_seconds'))} ago"
        )
    if not oncall.get("levels"):
        lines.append("on call: nobody" if oncall.get("fetched_at") else "on call: not known yet")
    for level in oncall.get("levels", []):
        now_names = ", ".join(e["user"] for e in level["now"]) or "nobody"
        upcoming = level.get("next")
        after = ""
        if upcoming:
            start = time.strftime("%Y-%m-%d %H:%M", time.localtime(upcoming["start"]))
            after = f"; next {upcoming['user']} from {start}"
        lines.append(f"{level['policy']} level {level['level']}: {now_names}{after}")
    return "\n".join(lines)


def run_status(inventory: Inventory, url: str | None = None, stream: TextIO = sys.stdout) -> int:
    now = time.time()
    asked_for = url
    url = url or daemon_url(inventory)
    status = fetch_status(url) if url else None
    ours = str(inventory.source.resolve())
    if status is not None and (asked_for or status.get("inventory") == ours):
        status["source"] = f"netwatch at {url}"
    else:
        other = status.get("inventory") if status is not None else None
        status = status_from_database(inventory, now)
        if other is not None:
            # Another daemon (another inventory) holds the port: its devices are not ours.
            status["source"] += f"; the netwatch at {url} runs {other}, not {ours}"
    stream.write(render_status(status, colour=stream.isatty()) + "\n")
    return 0


def run_oncall(inventory: Inventory, stream: TextIO = sys.stdout) -> int:
    if inventory.api_token is None:
        stream.write("no [pagerduty_rest] api_token configured\n")
        return 1
    rest = inventory.pagerduty_rest
    service = OncallService(api_url=rest.api_url, token=inventory.api_token)

    async def once() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10.0) as client:
            snapshot = await service.refresh(client)
        return snapshot.as_json(time.time())

    answer = trio.run(once)
    stream.write(render_oncall(answer) + "\n")
    return 1 if answer["error"] else 0
