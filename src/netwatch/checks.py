"""Judge one sample against a device's thresholds: one verdict per check. Pure.

A check without data this cycle is *unknown*: it keeps its previous level (neither clears
nor raises) and says so, so a silent agent never looks like a healthy one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple

from netwatch.alerts import FailingCheck, Level
from netwatch.inventory import DeviceConfig, Threshold
from netwatch.samples import Sample
from netwatch.units import format_duration

REACHABILITY = "reachability"
LATENCY = "latency"
SNMP = "snmp"
CPU = "cpu"
TEMPERATURE = "temperature"

REBOOT = "reboot"

UNITS = {REACHABILITY: "% loss", LATENCY: "ms", CPU: "%", TEMPERATURE: "°C", SNMP: "", REBOOT: ""}


@dataclass(frozen=True, slots=True)
class CheckVerdict:
    check: str
    level: Level
    known: bool  # False: no data this cycle; `level` is the last known one
    value: float | None = None
    threshold: float | None = None
    detail: str = ""
    custom_unit: str = ""  # the unit a custom metric declares in the inventory

    @property
    def unit(self) -> str:
        return UNITS.get(self.check, self.custom_unit)

    def as_failing(self) -> FailingCheck:
        detail = self.detail if self.known else f"{self.detail} (last known; no data now)".strip()
        return FailingCheck(self.check, self.level, self.value, self.unit, self.threshold, detail)


def threshold_level(
    value: float, threshold: Threshold, previous: Level
) -> tuple[Level, float | None]:
    """Level of `value`, with hysteresis: a raised level holds until the value drops below
    (that level's threshold - clear)."""
    by_level = {Level.CRITICAL: threshold.critical, Level.WARNING: threshold.warning}
    raw = Level.OK
    for level in (Level.CRITICAL, Level.WARNING):
        limit = by_level[level]
        if limit is not None and value >= limit:
            raw = level
            break
    clear = threshold.clear or 0.0
    for level in (Level.CRITICAL, Level.WARNING):
        limit = by_level[level]
        if raw < level <= previous and limit is not None and value >= limit - clear:
            return level, limit
    return raw, by_level.get(raw)


def judge_sample(
    device: DeviceConfig, sample: Sample | None, previous: Mapping[str, CheckVerdict]
) -> dict[str, CheckVerdict]:
    verdicts: dict[str, CheckVerdict] = {}

    def keep(check: str, detail: str) -> CheckVerdict:
        before = previous.get(check)
        level = before.level if before else Level.OK
        value = before.value if before else None
        threshold = before.threshold if before else None
        return CheckVerdict(check, level, False, value, threshold, detail)

    def measured(check: str, value: float, threshold: Threshold, detail: str = "") -> CheckVerdict:
        before = previous.get(check)
        level, limit = threshold_level(value, threshold, before.level if before else Level.OK)
        return CheckVerdict(check, level, True, value, limit, detail)

    ping = sample.ping if sample else None
    if ping is None:
        verdicts[REACHABILITY] = keep(REACHABILITY, "no ping result")
    elif ping.error and ping.sent == 0:
        # Nothing was sent (DNS failure, socket error): that is not packet loss.
        verdicts[REACHABILITY] = keep(REACHABILITY, ping.error)
    else:
        detail = ping.error or f"{ping.received}/{ping.sent} replies"
        if ping.address != device.address:
            detail += f" from {ping.address}"  # a DNS name: say which of its addresses
        verdicts[REACHABILITY] = measured(
            REACHABILITY, ping.loss_percent, device.thresholds.loss, detail
        )
    down = verdicts[REACHABILITY].known and verdicts[REACHABILITY].level is Level.CRITICAL

    rtt = device.thresholds.rtt
    if rtt.warning is not None or rtt.critical is not None:
        if ping is not None and ping.rtt_avg_ms is not None:
            verdicts[LATENCY] = measured(LATENCY, ping.rtt_avg_ms, rtt, "average RTT")
        else:
            verdicts[LATENCY] = keep(LATENCY, "no replies")

    if not device.uses_snmp:
        return verdicts
    snmp = sample.snmp if sample else None
    metric_checks = snmp_metric_checks(device)
    reboot_check = [REBOOT] if device.reboot_alert is not None else []
    if down:
        for check in (SNMP, *metric_checks, *reboot_check):
            verdicts[check] = keep(check, "device down")
        return verdicts
    if snmp is None:
        for check in (SNMP, *metric_checks, *reboot_check):
            verdicts[check] = keep(check, "no SNMP result")
        return verdicts
    if snmp.error is not None:
        level = Level.CRITICAL if device.snmp_failure_level == "critical" else Level.WARNING
        verdicts[SNMP] = CheckVerdict(SNMP, level, True, None, None, str(snmp.error))
        for check in (*metric_checks, *reboot_check):
            verdicts[check] = keep(check, "SNMP failed")
        return verdicts
    verdicts[SNMP] = CheckVerdict(SNMP, Level.OK, True, None, None, "agent answers")
    if device.reboot_alert is not None:
        verdicts[REBOOT] = judge_uptime(snmp.uptime_ticks, device.reboot_alert, keep)
    for check, spec in metric_checks.items():
        reading = snmp.metrics.get(check)
        if reading is None:
            continue  # the profile does not read this metric at all
        if reading.value is None:
            verdict = keep(check, str(reading.error) if reading.error else "invalid reading")
        else:
            detail = f"{spec.label}: {reading.source}" if spec.label else reading.source
            verdict = measured(check, reading.value, spec.threshold, detail)
        verdicts[check] = replace(verdict, custom_unit=spec.unit)
    return verdicts


def judge_uptime(
    uptime_ticks: int | None, window: float, keep: Callable[[str, str], CheckVerdict]
) -> CheckVerdict:
    """A device that rebooted less than `window` ago fails the reboot check (warning). The
    uptime itself says when: no earlier poll is needed, so a reboot while netwatch was down
    counts too. sysUpTime wraps after 497 days, which reads as one false reboot then."""
    if uptime_ticks is None:
        return keep(REBOOT, "agent gave no sysUpTime")
    uptime = uptime_ticks / 100
    if uptime < window:
        return CheckVerdict(
            REBOOT, Level.WARNING, True, None, None, f"rebooted {format_duration(uptime)} ago"
        )
    return CheckVerdict(REBOOT, Level.OK, True, None, None, f"up {format_duration(uptime)}")


class MetricCheck(NamedTuple):
    threshold: Threshold
    unit: str
    label: str | None = None


def snmp_metric_checks(device: DeviceConfig) -> dict[str, MetricCheck]:
    """Every SNMP metric check of a device with its threshold and unit: cpu and temperature
    (thresholds from the inventory's `thresholds`, unless a custom metric of that name sets
    its own), then the custom metrics. A custom metric without levels is read, never judged
    as failing."""
    checks = {
        CPU: MetricCheck(device.thresholds.cpu, UNITS[CPU]),
        TEMPERATURE: MetricCheck(device.thresholds.temperature, UNITS[TEMPERATURE]),
    }
    for metric in device.metrics:
        threshold = Threshold(warning=metric.warning, critical=metric.critical, clear=metric.clear)
        if metric.name in checks and not metric.has_thresholds:
            threshold = checks[metric.name].threshold
        unit = UNITS.get(metric.name, metric.unit)
        checks[metric.name] = MetricCheck(threshold, unit, metric.label)
    return checks


def failing_checks(verdicts: Mapping[str, CheckVerdict], *, down: bool) -> tuple[FailingCheck, ...]:
    """The checks to page about, worst first. For a device that is down, only reachability:
    stale CPU or temperature readings say nothing about a dead box."""
    selected = [
        v
        for v in verdicts.values()
        if v.level > Level.OK and (v.known or not down) and (not down or v.check == REACHABILITY)
    ]
    selected.sort(key=lambda v: (-v.level, v.check))
    return tuple(v.as_failing() for v in selected)


def is_down(verdicts: Mapping[str, CheckVerdict]) -> bool:
    reach = verdicts.get(REACHABILITY)
    return reach is not None and reach.known and reach.level is Level.CRITICAL
