"""The web side as one started service: the app, hypercorn, and the on-call refresher."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

import trio

from netwatch.delivery import Sender
from netwatch.http.app import NocApp
from netwatch.http.context import HttpContext
from netwatch.http.metrics import NetwatchMetrics
from netwatch.http.observe import PollObserver
from netwatch.http.server import serve_http
from netwatch.http.sources import IncidentHistory
from netwatch.inventory import Inventory
from netwatch.monitor import Monitor
from netwatch.oncall import OncallService
from netwatch.store import Store
from netwatch.store.webhooks import WebhookLog

log = logging.getLogger("netwatch.http")


def make_oncall(inventory: Inventory) -> OncallService | None:
    if inventory.api_token is None:
        return None
    rest = inventory.pagerduty_rest
    return OncallService(
        api_url=rest.api_url, token=inventory.api_token, cache_seconds=rest.oncall_cache
    )


async def run_web(
    inventory: Inventory,
    monitor: Monitor,
    sender: Sender,
    *,
    observer: PollObserver | None,
    metrics: NetwatchMetrics,
    store: Store,
    history: IncidentHistory | None = None,
    wall_clock: Callable[[], float],
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    oncall = make_oncall(inventory)
    context = HttpContext(
        monitor,
        sender,
        observer=observer,
        oncall=oncall,
        webhook_log=WebhookLog(store),
        webhook_secrets=inventory.webhook_secrets,
        history=history,
        status_page_url=inventory.http.status_page_url,
        wall_clock=wall_clock,
    )
    if not inventory.webhook_secrets:
        log.info("no [pagerduty_rest] webhook_secrets: /webhooks/pagerduty answers 403")
    monitor.on_cycle(lambda report: metrics.cycle_duration.observe(report.duration))
    app = NocApp(context, metrics)
    async with trio.open_nursery() as nursery:
        if oncall is not None:
            await nursery.start(oncall.run)
        http = inventory.http
        url = ""
        try:
            url = await nursery.start(partial(serve_http, app, host=http.listen, port=http.port))
        except* OSError as failed:
            # Paging matters more than the status page: a taken port must not stop monitoring.
            cause: BaseException = failed
            while isinstance(cause, BaseExceptionGroup):
                cause = cause.exceptions[0]
            reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else cause
            log.error(
                "web interface not started: cannot listen on %s port %d (%s); change [http] "
                "port or listen, or set enabled = false. Monitoring and paging go on",
                http.listen,
                http.port,
                reason,
            )
        task_status.started(url)
