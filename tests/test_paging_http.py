"""Paging's self-monitoring through the running daemon's HTTP side: /readyz turns degraded
once PagerDuty delivery has failed longer than the threshold, /metrics counts attempts."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import trio
from support.web_daemon import INVENTORY, SECRETS, running_web_daemon

# events_url is a closed loopback port: every attempt fails with a connection error
FAILING = INVENTORY.replace(
    'events_url = "http://127.0.0.1:9/v2/enqueue"',
    'events_url = "http://127.0.0.1:9/v2/enqueue"\nfailing_threshold = "1s"',
)


async def test_readyz_degraded_and_metrics_while_paging_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    assert FAILING != INVENTORY
    async with (
        running_web_daemon(tmp_path, monkeypatch, text=FAILING) as daemon,
        httpx.AsyncClient(base_url=daemon.url) as client,
    ):
        await daemon.wait_cycles(1)
        with trio.fail_after(20):
            # polled over HTTP on purpose: readiness is what an outside checker sees
            while (ready := await client.get("/readyz")).status_code == 200:  # noqa: ASYNC110
                await trio.sleep(0.1)
        metrics = (await client.get("/metrics")).text
    assert ready.status_code == 503
    problems = ready.json()["problems"]
    assert len(problems) == 1 and problems[0].startswith(
        "paging failing: PagerDuty has not accepted an event for"
    ), problems
    lines = metrics.splitlines()
    retried = [
        line for line in lines if line.startswith('netwatch_events_sent_total{result="retried"}')
    ]
    assert retried and float(retried[0].split()[-1]) >= 1, metrics
    assert any(line.startswith("netwatch_rate_budget_waits_total ") for line in lines), metrics
    for secret in SECRETS.values():
        assert secret not in ready.text and secret not in metrics and secret not in caplog.text
