"""Inventories an operator really produces, odd but valid: saved by a Windows editor (BOM,
CRLF), ids with slashes, a parent defined after its child."""

from __future__ import annotations

from pathlib import Path

from netwatch.inventory import load_inventory

INVENTORY = """\
[defaults]
profile = "ping-only"

[[devices]]
id = "tower1/sector-a"
address = "127.0.0.3"
parent = "tower1/rtr"

[[devices]]
id = "tower1/rtr"
address = "127.0.0.2"
"""


def test_inventory_saved_with_a_utf8_bom_and_crlf_loads(tmp_path: Path) -> None:
    # Notepad and many Windows editors write UTF-8 with a byte order mark and CRLF.
    path = tmp_path / "devices.toml"
    path.write_bytes(b"\xef\xbb\xbf" + INVENTORY.replace("\n", "\r\n").encode())

    inventory = load_inventory(path)

    assert [(d.id, d.parent) for d in inventory.devices] == [
        ("tower1/sector-a", "tower1/rtr"),
        ("tower1/rtr", None),
    ]
