"""The inventory: devices.toml, layered and validated."""

from netwatch.inventory.load import (
    PING_ONLY,
    Inventory,
    InventoryError,
    Problem,
    known_profiles,
    load_inventory,
    parse_inventory,
)
from netwatch.inventory.schema import DeviceConfig, Threshold

__all__ = [
    "PING_ONLY",
    "DeviceConfig",
    "Inventory",
    "InventoryError",
    "Problem",
    "Threshold",
    "known_profiles",
    "load_inventory",
    "parse_inventory",
]
