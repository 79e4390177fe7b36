"""The per-cycle record that `netwatch run --cycle-stats FILE` appends."""

from __future__ import annotations

import json
from pathlib import Path

from netwatch.cycle_stats import CycleStats, CycleStatsWriter, summarize_samples
from netwatch.samples import (
    MetricReading,
    PingResult,
    Sample,
    SnmpError,
    SnmpErrorKind,
    SnmpReading,
)

FULL = SnmpReading(metrics={"cpu": MetricReading(23.0), "temperature": MetricReading(47.0)})
ONE_METRIC_MISSING = SnmpReading(
    metrics={
        "cpu": MetricReading(23.0),
        "temperature": MetricReading(None, error=SnmpError(SnmpErrorKind.NOT_SUPPORTED, "none")),
    }
)
TIMED_OUT = SnmpReading(error=SnmpError(SnmpErrorKind.TIMEOUT, "no response"))


def sample(device_id: str, ping: PingResult | None, snmp: SnmpReading | None) -> Sample:
    return Sample(device_id, 0.0, ping=ping, snmp=snmp)


def test_counts_echoes_and_complete_snmp_readings() -> None:
    samples = {
        "a": sample("a", PingResult("127.0.0.1", 3, 3), FULL),
        "b": sample("b", PingResult("127.0.0.2", 3, 1), ONE_METRIC_MISSING),
        "c": sample("c", PingResult("127.0.0.3", 3, 0), TIMED_OUT),
        "d": sample("d", PingResult("127.0.0.4", 3, 4), None),  # a duplicate reply
    }
    assert summarize_samples(samples) == {
        "pings_sent": 12,
        "pings_received": 7,
        "snmp_polled": 3,
        "snmp_complete": 1,
        "snmp_failed": 1,
    }


def test_writer_appends_one_json_line_per_cycle(tmp_path: Path) -> None:
    path = tmp_path / "cycles.jsonl"
    writer = CycleStatsWriter(path)
    for number in (1, 2):
        writer.write(CycleStats(number, 1e9, 1.5, 10, 9, 1, 30, 29, 9, 8, 1, 2.25, 70000))
    writer.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["cycle"] for r in records] == [1, 2]
    assert records[1]["late"] == 1
    assert records[1]["snmp_complete"] == 8
    assert records[1]["cpu_s"] == 2.25
