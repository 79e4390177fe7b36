"""The shipped devices.toml documents options in comments; uncommented, they must all load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.paths import REPO

from netwatch.inventory import load_inventory

COMMENTED_SETTING = re.compile(r"^# ((?:\[|[a-z_]+ = ).*)$")
SECRETS = {
    "NETWATCH_ROUTING_KEY": "R0123456789abcdef0123456789abcde",
    "PD_KEY_NORTH": "R0123456789abcdef0123456789abcdf",
    "PAGERDUTY_API_TOKEN": "u+0123456789abcdef",
    "PD_WEBHOOK_SECRET": "whsec-new",
    "PD_WEBHOOK_SECRET_OLD": "whsec-old",
    "NETWATCH_SMTP_PASSWORD": "smtp-pw",
    "NETWATCH_SNMP_AUTH": "auth-key-123",
    "NETWATCH_SNMP_PRIV": "priv-key-123",
}


def uncommented(text: str) -> str:
    lines = []
    for line in text.splitlines():
        match = COMMENTED_SETTING.match(line)
        lines.append(match.group(1) if match else line)
    # The example shows SNMPv3 as an alternative to the v2c settings above it.
    return "\n".join(
        line
        for line in lines
        if not line.startswith(('version = "2c"', 'community = "netwatch-demo"'))
    )


def test_every_documented_option_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "devices.toml"
    full = uncommented((REPO / "devices.toml").read_text())
    assert full.count("\n[[paging.routes]]") == 1 and "\n[email]" in full  # the blocks were found
    path.write_text(full)
    inventory = load_inventory(path)
    radio = inventory.by_id()["lab-radio"]
    assert radio.snmp is not None and radio.snmp.version == "3"
    assert len(radio.maintenance) == 2
    assert radio.reboot_alert == 900.0
    assert [m.name for m in radio.metrics] == ["optical_rx"]
    assert inventory.routing_key == SECRETS["NETWATCH_ROUTING_KEY"].encode()
