"""Is a device inside a maintenance window at `now`? Pure: epoch seconds in, bool out.

Weekly windows are placed on the local calendar of their own time zone (DST included) and
last `duration` real seconds from there."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from netwatch.inventory import DeviceConfig
from netwatch.inventory.windows import WEEKDAYS, MaintenanceWindow

_DAY = 86400.0


def window_active(window: MaintenanceWindow, now: float) -> bool:
    if window.start is not None:
        return window.start_epoch() <= now < window.end_epoch()
    zone = window.zone()
    assert zone is not None and window.at is not None and window.duration is not None
    assert window.days is not None
    today = datetime.fromtimestamp(now, zone).date()
    # A window that started on an earlier day may still be running (a 30 h window, or
    # Sunday 23:00 + 2 h on Monday 00:30).
    for back in range(math.ceil(window.duration / _DAY) + 1):
        day = today - timedelta(days=back)
        if WEEKDAYS[day.weekday()] not in window.days:
            continue
        start = datetime.combine(day, window.at, tzinfo=zone).timestamp()
        if start <= now < start + window.duration:
            return True
    return False


def any_active(windows: Iterable[MaintenanceWindow], now: float) -> bool:
    return any(window_active(window, now) for window in windows)


def in_maintenance(device_id: str, devices: Mapping[str, DeviceConfig], now: float) -> bool:
    """The device's own windows, or an ancestor's window that covers its children."""
    device = devices[device_id]
    if any_active(device.maintenance, now):
        return True
    visited = {device_id}
    parent = device.parent
    while parent is not None and parent in devices and parent not in visited:
        visited.add(parent)
        ancestor = devices[parent]
        if any_active((w for w in ancestor.maintenance if w.include_children), now):
            return True
        parent = ancestor.parent
    return False
