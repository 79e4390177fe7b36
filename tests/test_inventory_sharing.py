"""Devices that resolve to the same settings share one object per settings table (memory: ten
thousand radios under one [defaults]), and sharing never mixes up different values."""

from __future__ import annotations

from pathlib import Path

import pytest

from netwatch.inventory import DeviceConfig, parse_inventory

INVENTORY = """
[defaults]
profile = "airos"
[defaults.snmp]
community = "env:SHARING_COMMUNITY"
[defaults.ping]
count = 2

[groups.far]
ping = { timeout = "3s" }

[[devices]]
id = "radio-1"
address = "127.0.0.1"
tags = ["sector"]

[[devices]]
id = "radio-2"
address = "127.0.0.2"
tags = ["sector"]

[[devices]]
id = "radio-3"
address = "127.0.0.3"
group = "far"
snmp = { community = "env:SHARING_OTHER_COMMUNITY" }
thresholds = { cpu = { warning = 60 } }
"""

SHARED = ("snmp", "ping", "thresholds", "severity", "flapping", "tags")


@pytest.fixture
def devices(monkeypatch: pytest.MonkeyPatch) -> dict[str, DeviceConfig]:
    monkeypatch.setenv("SHARING_COMMUNITY", "first-secret")
    monkeypatch.setenv("SHARING_OTHER_COMMUNITY", "second-secret")
    return parse_inventory(INVENTORY, Path("devices.toml")).by_id()


def test_devices_with_identical_inherited_settings_share_the_objects(
    devices: dict[str, DeviceConfig],
) -> None:
    first, second = devices["radio-1"], devices["radio-2"]
    for name in SHARED:
        assert getattr(first, name) is getattr(second, name), name
    assert first.thresholds.cpu is second.thresholds.cpu


def community(device: DeviceConfig) -> bytes:
    assert device.snmp is not None and device.snmp.community is not None
    return device.snmp.community.get_secret_value()


def test_a_device_with_its_own_values_keeps_them(devices: dict[str, DeviceConfig]) -> None:
    first, third = devices["radio-1"], devices["radio-3"]
    assert third.ping.timeout == 3.0 and first.ping.timeout == 1.0
    assert third.ping.count == first.ping.count == 2
    assert community(third) == b"second-secret"
    assert community(first) == b"first-secret"
    assert third.thresholds.cpu.warning == 60.0
    assert first.thresholds.cpu.warning == 80.0
    assert third.tags == ()
    # what does not differ is still shared
    assert third.severity is first.severity
    assert third.flapping is first.flapping


def test_a_shared_settings_table_cannot_be_changed_through_one_device(
    devices: dict[str, DeviceConfig],
) -> None:
    with pytest.raises(ValueError, match="frozen"):
        devices["radio-1"].ping.count = 9
    assert devices["radio-2"].ping.count == 2
