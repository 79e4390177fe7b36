"""Memory the resolved inventory takes: N generated devices (as bench/isp_cycle.py writes them),
loaded with `load_inventory`, measured with tracemalloc.

Usage:  .venv/bin/python bench/inventory_memory.py [--devices 10000]
Reports the bytes held by the loaded Inventory (per device), the peak while loading, and how
many distinct settings objects (snmp, ping, thresholds, ...) the devices hold between them.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import tracemalloc
from pathlib import Path

from isp_cycle import secrets_env, write_inventory

from netwatch.inventory import load_inventory

SHARED_SETTINGS = ("snmp", "ping", "thresholds", "severity", "flapping")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=10_000)
    args = parser.parse_args(argv)
    os.environ.update(secrets_env())
    with tempfile.TemporaryDirectory(prefix="netwatch-inventory-memory-") as workdir:
        path = Path(workdir) / "devices.toml"
        write_inventory(path, args.devices, v3=False, interval=60)
        load_inventory(path)  # imports, profile discovery and pydantic's own caches: not counted
        gc.collect()
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
        inventory = load_inventory(path)
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    devices = len(inventory.devices)
    held -= before
    print(f"devices: {devices}")
    print(f"held by the loaded inventory: {held / 1e6:.1f} MB ({held / devices:.0f} B/device)")
    print(f"peak while loading: {(peak - before) / 1e6:.1f} MB")
    for name in SHARED_SETTINGS:
        distinct = len({id(getattr(device, name)) for device in inventory.devices})
        print(f"distinct {name} objects: {distinct}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
