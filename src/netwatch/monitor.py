"""The poll cycle: every interval, poll every device concurrently, run the engine once over
the whole cycle (so children are judged against their parent's state from the same cycle),
and hand the notifier's events to the sender."""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import trio

from netwatch.delivery import Sender
from netwatch.engine import (
    CycleOutcome,
    DeviceState,
    Phase,
    TransitionKind,
    resume_after_gap,
    run_cycle,
)
from netwatch.events import describe_check
from netwatch.incidents import EntryKind, history_entries
from netwatch.inventory import DeviceConfig, Inventory
from netwatch.notifier import Notifier
from netwatch.poller import PollLost, Prober
from netwatch.samples import Sample
from netwatch.store.alert_state import AlertStateStore
from netwatch.units import format_duration

log = logging.getLogger("netwatch.monitor")


@dataclass(frozen=True, slots=True)
class CycleReport:
    number: int
    started: float  # wall clock
    duration: float
    polled: int
    late: int  # devices whose poll did not finish within the interval
    outcome: CycleOutcome
    samples: Mapping[str, Sample] = field(default_factory=dict)


class Monitor:
    def __init__(
        self,
        inventory: Inventory,
        prober: Prober,
        sender: Sender,
        *,
        notifier: Notifier,
        wall_clock: Callable[[], float] = time.time,
        alert_store: AlertStateStore | None = None,
    ) -> None:
        self.inventory = inventory
        self._prober = prober
        self._sender = sender
        self._notifier = notifier
        self._wall_clock = wall_clock
        self.states: dict[str, DeviceState] = {}
        self.cycles = 0
        self._alert_store = alert_store
        self._resume_from: float | None = None
        if alert_store is not None:
            saved = alert_store.load()
            self.states = saved.states
            notifier.restore(saved.sent)
            self._resume_from = saved.last_cycle_at
        self._cycle_listeners: list[Callable[[CycleReport], None]] = []

    def on_cycle(self, listener: Callable[[CycleReport], None]) -> None:
        self._cycle_listeners.append(listener)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        interval = self.inventory.settings.interval
        next_start = trio.current_time()
        task_status.started()
        while True:
            await trio.sleep_until(next_start)
            started = trio.current_time()
            await self.run_one_cycle(deadline=started + interval)
            next_start += interval
            if trio.current_time() > next_start:
                skipped = math.ceil((trio.current_time() - next_start) / interval)
                log.warning(
                    "cycle overran its %s interval; skipping %d start(s)",
                    format_duration(interval),
                    skipped,
                )
                next_start += skipped * interval

    async def run_one_cycle(self, *, deadline: float) -> CycleReport:
        self.cycles += 1
        devices = [d for d in self.inventory.devices if d.enabled]
        now = self._wall_clock()
        started = trio.current_time()
        samples = await self._poll_all(devices, deadline)
        late = len(devices) - len(samples)
        if self._resume_from is not None:
            self.states = resume_after_gap(
                self.states,
                last_cycle_at=self._resume_from,
                now=now,
                interval=self.inventory.settings.interval,
            )
            self._resume_from = None
        previous = self.states
        outcome = run_cycle(self.inventory.devices, previous, samples, now)
        self.states = outcome.states
        duration = trio.current_time() - started
        self._log_cycle(samples, outcome, late, duration)
        self._emit_events(outcome, now, previous)
        report = CycleReport(self.cycles, now, duration, len(samples), late, outcome, samples)
        for listener in self._cycle_listeners:
            listener(report)
        return report

    def _emit_events(
        self, outcome: CycleOutcome, now: float, previous: Mapping[str, DeviceState]
    ) -> None:
        """Hand this cycle's events to the sender (whose outbox makes them durable), then store
        the alert state that led to them. In this order a crash in between repeats an event,
        which PagerDuty deduplicates, instead of losing one: a lost resolve would leave an
        incident open for good."""
        before = {sent.dedup_key: sent.fingerprint for sent in self._notifier.sent()}
        self._notifier.configure(self.inventory)  # routing rules follow a reload
        events = self._notifier.events_for(outcome, now, before=previous)
        for event in events:
            self._sender.submit(event)
        entries = history_entries(outcome, events, before, now)
        for entry in entries:
            if entry.kind is EntryKind.SUMMARY:
                # An open incident whose checks or severity changed: say so beside the JSON.
                log.info("CHANGED %s: %s", entry.device_id, entry.summary)
        if self._alert_store is not None:
            try:
                self._alert_store.save_cycle(outcome.states, self._notifier.sent(), entries, now)
            except sqlite3.Error:
                # Paging matters more than remembering: retry the write next cycle.
                log.exception("could not save alert state; events went out regardless")

    async def _poll_all(self, devices: list[DeviceConfig], deadline: float) -> dict[str, Sample]:
        samples: dict[str, Sample] = {}
        # A fixed set of pollers taking devices in turn, not one task per device waiting for a
        # slot: 50,000 parked tasks cost ~150 MB of peak memory (bench/isp_cycle.py).
        waiting = iter(devices)

        async def poll_in_turn() -> None:
            for device in waiting:
                try:
                    samples[device.id] = await self._prober.poll(device)
                except PollLost:
                    pass  # logged once for all the polls it took, where it happened
                except Exception:
                    # A bug in one probe must not stop the others; the device reads as unknown.
                    log.exception("poll of %s failed", device.id)

        # Polls that cannot finish inside the interval are abandoned: their devices are
        # unknown this cycle, and the next cycle starts on time.
        with trio.move_on_after(max(0.0, deadline - trio.current_time())):
            async with trio.open_nursery() as nursery:
                for _ in range(min(self.inventory.settings.max_concurrent_polls, len(devices))):
                    nursery.start_soon(poll_in_turn)
        return samples

    def _log_cycle(
        self, samples: Mapping[str, Sample], outcome: CycleOutcome, late: int, duration: float
    ) -> None:
        for device_id, sample in samples.items():
            state = outcome.states.get(device_id)
            if state is None:
                continue
            log.debug("poll %s: %s", device_id, _describe_sample(sample, state))
        monitored = {d.id for d in self.inventory.devices if d.enabled}
        for transition in outcome.transitions:
            state = outcome.states.get(transition.device_id, DeviceState())
            what = "; ".join(describe_check(c) for c in state.failing) or "all checks OK"
            if transition.kind is TransitionKind.TRIGGERED:
                log.warning("ALERT %s: %s", transition.device_id, what)
            elif transition.kind is TransitionKind.RESOLVED:
                if transition.device_id in monitored:
                    log.info("RECOVERED %s", transition.device_id)
                else:
                    log.info(
                        "RESOLVED %s: no longer monitored (removed or disabled)",
                        transition.device_id,
                    )
            else:
                log.info(
                    "%s: %s -> %s (%s)",
                    transition.device_id,
                    transition.before.value,
                    transition.after.value,
                    what,
                )
        counts: dict[Phase, int] = {}
        for device_id in samples:
            phase = outcome.states[device_id].phase if device_id in outcome.states else Phase.OK
            counts[phase] = counts.get(phase, 0) + 1
        summary = ", ".join(f"{n} {phase.value}" for phase, n in sorted(counts.items()))
        log.info(
            "cycle %d: %d devices polled in %.1f s (%s)%s",
            self.cycles,
            len(samples),
            duration,
            summary,
            f", {late} late" if late else "",
        )


def _describe_sample(sample: Sample, state: DeviceState) -> str:
    parts = []
    if sample.ping is not None:
        ping = sample.ping
        rtt = f" avg {ping.rtt_avg_ms:.2f} ms" if ping.rtt_avg_ms is not None else ""
        parts.append(
            f"ping {ping.received}/{ping.sent}{rtt}" + (f" ({ping.error})" if ping.error else "")
        )
    if sample.snmp is not None:
        if sample.snmp.error is not None:
            parts.append(f"snmp {sample.snmp.error}")
        for name, reading in sample.snmp.metrics.items():
            if reading.value is not None:
                parts.append(
                    f"{name} {reading.value:g}" + (f" [{reading.source}]" if reading.source else "")
                )
            else:
                parts.append(f"{name} ? ({reading.error or 'invalid'})")
    return f"{', '.join(parts)} -> {state.phase.value}"
