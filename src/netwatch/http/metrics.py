"""/metrics in Prometheus text format: device gauges read from the monitor at scrape time,
process counters kept as they happen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from netwatch.engine import Phase
from netwatch.http.sources import DeliveryStats

if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from netwatch.http.context import HttpContext

POLL_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class NetwatchMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.poll_duration = Histogram(
            "netwatch_poll_duration_seconds",
            "Time to poll one device (ICMP and SNMP together).",
            buckets=POLL_BUCKETS,
            registry=self.registry,
        )
        self.cycle_duration = Histogram(
            "netwatch_cycle_duration_seconds",
            "Time to poll every device once.",
            buckets=POLL_BUCKETS,
            registry=self.registry,
        )
        self.webhooks: dict[str, int] = {}

    def count_webhook(self, result: str) -> None:
        self.webhooks[result] = self.webhooks.get(result, 0) + 1

    def attach(self, context: HttpContext) -> None:
        self.registry.register(_StateCollector(context, self))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    def __init__(self, context: HttpContext, metrics: NetwatchMetrics) -> None:
        self._context = context
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        ctx = self._context
        now = ctx.wall_clock()
        monitor = ctx.monitor
        samples = ctx.observer.last_samples if ctx.observer is not None else {}
        labels = ["device", "site"]
        up = GaugeMetricFamily("netwatch_device_up", "1 if the device answers ping.", labels=labels)
        loss = GaugeMetricFamily(
            "netwatch_device_loss_ratio", "ICMP loss in the last poll (0-1).", labels=labels
        )
        rtt = GaugeMetricFamily(
            "netwatch_device_rtt_seconds", "Mean ICMP round trip in the last poll.", labels=labels
        )
        cpu = GaugeMetricFamily("netwatch_device_cpu_percent", "CPU load.", labels=labels)
        temperature = GaugeMetricFamily(
            "netwatch_device_temperature_celsius", "Temperature.", labels=labels
        )
        check = GaugeMetricFamily(
            "netwatch_device_check_level",
            "Level of each check: 0 ok, 1 warning, 2 critical.",
            labels=[*labels, "check"],
        )
        phase = GaugeMetricFamily(
            "netwatch_device_phase",
            "1 for the device's current alert phase.",
            labels=[*labels, "phase"],
        )
        age = GaugeMetricFamily(
            "netwatch_device_last_poll_age_seconds", "Seconds since the last poll.", labels=labels
        )
        for device in monitor.inventory.devices:
            key = [device.id, device.site or ""]
            state = monitor.states.get(device.id)
            if state is not None and state.last_sample_at is not None:
                up.add_metric(key, 0.0 if state.down else 1.0)
                age.add_metric(key, max(0.0, now - state.last_sample_at))
                for name, verdict in state.checks.items():
                    check.add_metric([*key, name], float(verdict.level))
                for candidate in Phase:
                    phase.add_metric([*key, candidate.value], float(state.phase is candidate))
            sample = samples.get(device.id)
            if sample is not None and sample.ping is not None and sample.ping.sent:
                loss.add_metric(key, sample.ping.loss_percent / 100.0)
                if sample.ping.rtt_avg_ms is not None:
                    rtt.add_metric(key, sample.ping.rtt_avg_ms / 1000.0)
            if sample is not None and sample.snmp is not None:
                for name, family in (("cpu", cpu), ("temperature", temperature)):
                    reading = sample.snmp.metrics.get(name)
                    if reading is not None and reading.value is not None:
                        family.add_metric(key, reading.value)
        yield from (up, loss, rtt, cpu, temperature, check, phase, age)

        for name, help_text, counts in (
            (
                "netwatch_snmp_errors",
                "SNMP errors by kind.",
                ctx.observer and ctx.observer.snmp_errors,
            ),
            (
                "netwatch_icmp_errors",
                "ICMP failures by kind.",
                ctx.observer and ctx.observer.icmp_errors,
            ),
            ("netwatch_webhooks", "PagerDuty webhooks by result.", self._metrics.webhooks),
        ):
            family_c = CounterMetricFamily(
                name, help_text, labels=["kind" if "errors" in name else "result"]
            )
            for kind, value in sorted((counts or {}).items()):
                family_c.add_metric([kind], float(value))
            yield family_c

        cycles = CounterMetricFamily("netwatch_cycles", "Poll cycles run.")
        cycles.add_metric([], float(monitor.cycles))
        yield cycles
        depth = GaugeMetricFamily(
            "netwatch_outbox_depth", "Events waiting for PagerDuty to accept them."
        )
        depth.add_metric([], float(ctx.sender.pending()))
        yield depth
        if isinstance(ctx.sender, DeliveryStats):
            sent = CounterMetricFamily(
                "netwatch_events_sent", "Events handed to PagerDuty, by result.", labels=["result"]
            )
            for result, value in sorted(ctx.sender.events_by_result().items()):
                sent.add_metric([result], float(value))
            yield sent
            waits = CounterMetricFamily(
                "netwatch_rate_budget_waits", "Times an event waited for the rate budget."
            )
            waits.add_metric([], float(ctx.sender.rate_budget_waits()))
            yield waits
