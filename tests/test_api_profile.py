"""The status API says which profile polling really uses: for profile = "auto", the detected
one and why; it survives a restart through the state store."""

from __future__ import annotations

from pathlib import Path

import httpx
import trio
from support.snmp_agents import SnmpsimAgent
from support.waiting import wait_until

from netwatch.daemon import run_daemon
from netwatch.inventory import load_inventory


async def test_auto_profile_is_reported_with_its_reason(
    snmpsim_agent: SnmpsimAgent, tmp_path: Path
) -> None:
    path = tmp_path / "devices.toml"
    path.write_text(
        f"""
[netwatch]
interval = "1s"
[http]
port = 0
[[devices]]
id = "crs317"
address = "127.0.0.1"
profile = "auto"
snmp_port = {snmpsim_agent.port}
[devices.snmp]
community = "routeros_crs317"
"""
    )
    urls: list[str] = []
    async with trio.open_nursery() as nursery:
        monitor = await nursery.start(
            lambda task_status: run_daemon(
                load_inventory(path), on_listening=urls.append, task_status=task_status
            )
        )
        await wait_until(lambda: monitor.states.get("crs317") is not None, "a poll")
        async with httpx.AsyncClient() as client:
            device = (await client.get(f"{urls[0]}/api/devices/crs317")).json()
        nursery.cancel_scope.cancel()
    assert device["profile"] == "auto"
    assert device["profile_in_use"] == "mikrotik"
    assert device["profile_reason"]
