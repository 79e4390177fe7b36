"""The NOC page in a real browser: Debian's Chromium, headless, renders it from the running
daemon; the page's own JavaScript fills in devices, on-call and who acknowledged what."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import httpx
import pytest
import trio
from support.pagerduty_rest import rest_standin
from support.web_daemon import INVENTORY, SECRETS, running_web_daemon
from test_http_daemon import post_hook, webhook_body
from test_oncall import entry

from netwatch.webhooks import sign

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,900",
    # let the page's fetch() and rendering run before the DOM is dumped
    "--virtual-time-budget=5000",
]


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium is not installed: run tools/setup as root (apt-get install chromium)")
    return found


async def browse(url: str, profile: Path, *args: str) -> str:
    done = await trio.run_process(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, url],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done.stdout.decode()


async def test_noc_page_in_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time()
    shifts = [entry("Ann Tech", 1, now - 3600, now + 3600), entry("Bob Tech", 1, now + 3600, None)]
    with rest_standin(SECRETS["NW_TEST_API_TOKEN"], shifts) as rest:
        extra = (
            '[pagerduty_rest]\napi_token = "env:NW_TEST_API_TOKEN"\n'
            f'api_url = "{rest.url}"\n'
            'webhook_secrets = ["env:NW_TEST_HOOK_NEW"]\n'
        )
        text = INVENTORY.replace(
            "[pagerduty_rest]\n"
            'webhook_secrets = ["env:NW_TEST_HOOK_OLD", "env:NW_TEST_HOOK_NEW"]\n',
            extra,
        )
        assert text != INVENTORY
        async with running_web_daemon(tmp_path, monkeypatch, text=text) as daemon:
            await daemon.wait_cycles(1)
            body = webhook_body(occurred_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            async with httpx.AsyncClient(base_url=daemon.url) as client:
                hooked = await post_hook(
                    client, body, sign(body, SECRETS["NW_TEST_HOOK_NEW"].encode())
                )
                assert hooked.json() == {"status": "stored"}
            shot = tmp_path / "noc.png"
            await browse(daemon.url + "/", tmp_path / "profile", f"--screenshot={shot}")
            dom = await browse(daemon.url + "/", tmp_path / "profile", "--dump-dom")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000
    assert 'data-loaded="true"' in dom
    rows = re.findall(r'<tr class="([a-z]+)" data-device="([^"]+)"', dom)
    assert rows == [("alerting", "radio-dead"), ("ok", "core-rtr"), ("ok", "sector-a")]
    assert "south — 1 failing" in dom
    assert "acknowledged by Jane Tech" in dom
    assert "Ann Tech" in dom and "next: Bob Tech" in dom
    assert "1 behind" in dom and "via core-rtr" in dom
    for secret in SECRETS.values():
        assert secret not in dom
