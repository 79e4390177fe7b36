"""The daemon's web side: health, /metrics, JSON status, the NOC page, PagerDuty webhooks."""

from netwatch.http.app import NocApp
from netwatch.http.context import HttpContext
from netwatch.http.metrics import NetwatchMetrics
from netwatch.http.observe import PollObserver
from netwatch.http.server import serve_http
from netwatch.http.service import run_web

__all__ = [
    "HttpContext",
    "NetwatchMetrics",
    "NocApp",
    "PollObserver",
    "run_web",
    "serve_http",
]
