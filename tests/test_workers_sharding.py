"""Which poll worker owns a device, and how many workers the daemon runs. Pure."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Literal

import pytest

from netwatch.inventory import InventoryError, parse_inventory
from netwatch.workers.sharding import (
    IDENTIFIERS_PER_WORKER,
    MAX_AUTO_WORKERS,
    V3_POLL_COST,
    poll_rate,
    shard_of,
    worker_count,
    worker_identifier,
)

IDS = [f"tower-{t}/radio-{r}" for t in range(100) for r in range(100)]


def shards_in_fresh_process(hash_seed: str, shards: int) -> list[int]:
    program = (
        "import sys; from netwatch.workers.sharding import shard_of; "
        f"print(','.join(str(shard_of(i, {shards})) for i in sys.stdin.read().split()))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        input="\n".join(IDS[:500]),
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        check=True,
    )
    return [int(shard) for shard in done.stdout.strip().split(",")]


def test_a_device_has_the_same_worker_in_every_process() -> None:
    # str hashes differ between these two interpreters; the owner must not
    first = shards_in_fresh_process("1", 4)
    assert first == shards_in_fresh_process("2", 4)
    assert first == [shard_of(device_id, 4) for device_id in IDS[:500]]


@pytest.mark.parametrize("shards", [2, 3, 4, 8])
def test_devices_spread_evenly_over_the_workers(shards: int) -> None:
    counts = Counter(shard_of(device_id, shards) for device_id in IDS)
    assert set(counts) == set(range(shards))
    fair = len(IDS) / shards
    assert all(abs(n - fair) < 0.1 * fair for n in counts.values()), counts


def test_one_shard_owns_everything_and_zero_shards_is_an_error() -> None:
    assert {shard_of(device_id, 1) for device_id in IDS} == {0}
    with pytest.raises(ValueError):
        shard_of("a", 0)


@pytest.mark.parametrize(
    ("setting", "polls_per_s", "cpus", "expected"),
    [
        ("auto", 0.0, 2, 1),
        ("auto", 10_000 / 60, 2, 1),
        ("auto", 50_000 / 60, 2, 1),  # 833 polls/s: one process still
        ("auto", 1000.0, 2, 1),
        ("auto", 1000.5, 2, 2),
        ("auto", 200_000 / 60, 2, 2),  # no more workers than CPUs
        ("auto", 200_000 / 60, 1, 1),  # one CPU: workers would only add overhead
        ("auto", 200_000 / 60, 16, 4),  # as many as the poll rate needs
        ("auto", 1e6, 64, MAX_AUTO_WORKERS),
        (1, 1e6, 2, 1),  # forced off
        (4, 1.0, 2, 4),  # forced on, even beyond the CPUs
    ],
)
def test_worker_count(
    setting: int | Literal["auto"], polls_per_s: float, cpus: int, expected: int
) -> None:
    assert worker_count(setting, polls_per_s=polls_per_s, cpus=cpus) == expected


INVENTORY = """
[defaults.snmp]
community = "c"
[groups.v3.snmp]
version = "3"
user = "u"
auth_protocol = "SHA"
auth_key = "auth-key-123"
priv_protocol = "AES"
priv_key = "priv-key-123"
"""


@pytest.mark.parametrize(
    ("devices", "expected_per_minute"),
    [
        ([], 0.0),
        (["v2c"] * 3, 3.0),
        (["v3"] * 2, 2 * V3_POLL_COST),
        (["v2c", "v3", "ping-only v3", "disabled v3"], 2.0 + V3_POLL_COST),
    ],
)
def test_poll_rate_counts_a_v3_poll_as_several(
    devices: list[str], expected_per_minute: float
) -> None:
    text = INVENTORY
    for n, kind in enumerate(devices):
        text += f'[[devices]]\nid = "d{n}"\naddress = "127.0.0.1"\n'
        if "v3" in kind:
            text += 'group = "v3"\n'
        if "ping-only" in kind:
            text += 'profile = "ping-only"\n'
        if "disabled" in kind:
            text += "enabled = false\n"
    inventory = parse_inventory(text, Path("devices.toml"))
    assert poll_rate(inventory.devices, 60.0) == pytest.approx(expected_per_minute / 60)


@pytest.mark.parametrize("base", [0, 4242, 65535, 70_000])
def test_workers_icmp_identifiers_never_overlap(base: int) -> None:
    ranges = [
        {(worker_identifier(base, w) + i) % 65536 for i in range(IDENTIFIERS_PER_WORKER)}
        for w in range(64)
    ]
    used = [identifier for r in ranges for identifier in r]
    assert len(used) == len(set(used)) == 64 * IDENTIFIERS_PER_WORKER
    assert all(0 <= identifier < 65536 for identifier in used)
    # the daemon's own pool starts at its pid (base): workers keep clear of it
    assert base % 65536 not in used


@pytest.mark.parametrize(
    ("written", "loaded"),
    [('"auto"', "auto"), ("1", 1), ("2", 2), ("64", 64), (None, "auto")],
)
def test_poll_workers_setting(written: str | None, loaded: int | str) -> None:
    setting = "" if written is None else f"poll_workers = {written}\n"
    text = f"[netwatch]\n{setting}{INVENTORY}"
    assert parse_inventory(text, Path("devices.toml")).settings.poll_workers == loaded


@pytest.mark.parametrize("written", ["0", "65", '"4"', '"AUTO"', "true", "2.0", "-1"])
def test_poll_workers_setting_refused(written: str) -> None:
    text = f"[netwatch]\npoll_workers = {written}\n{INVENTORY}"
    with pytest.raises(InventoryError) as refused:
        parse_inventory(text, Path("devices.toml"))
    assert [str(p) for p in refused.value.problems] == [
        "devices.toml:2: field 'netwatch.poll_workers': "
        'must be "auto" or a whole number from 1 to 64'
    ]
