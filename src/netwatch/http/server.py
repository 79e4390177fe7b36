"""Serve the app with hypercorn on trio, as a started service in the daemon's nursery."""

from __future__ import annotations

import ipaddress
import logging

import trio
from hypercorn.config import Config
from hypercorn.trio import serve

from netwatch.http.app import NocApp

log = logging.getLogger("netwatch.http")


def bind_address(host: str, port: int) -> str:
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"


async def serve_http(
    app: NocApp,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Listen, then report the base URL (`http://127.0.0.1:PORT`; port 0 picks a free one)."""
    config = Config()
    config.bind = [bind_address(host, port)]
    config.accesslog = None
    config.errorlog = logging.getLogger("netwatch.http.server")
    config.graceful_timeout = 1.0
    config.keep_alive_timeout = 5.0
    # PagerDuty wants an answer within 5 s; no request of ours should take a fraction of that.
    config.read_timeout = 10
    async with trio.open_nursery() as nursery:
        binds: list[str] = await nursery.start(serve, app, config)
        url = binds[0]
        log.info("web interface on %s (NOC page, /metrics, /api, /webhooks/pagerduty)", url)
        task_status.started(url)
