"""What the NOC view needs from each poll that the engine does not keep: the raw sample, how
long the poll took, and probe errors by kind. A Prober wrapper, so the monitor is unchanged."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import trio

from netwatch.inventory import DeviceConfig
from netwatch.poller import Prober
from netwatch.samples import PingResult, Sample


def icmp_error_kind(ping: PingResult) -> str | None:
    """A small fixed set of kinds (metric labels must not grow with free-text messages)."""
    if ping.sent == 0:
        return "local"
    text = (ping.error or "").lower()
    if "prohibit" in text:
        return "prohibited"
    if "unreachable" in text:
        return "unreachable"
    if "exceeded" in text:
        return "ttl-exceeded"
    if ping.error:
        return "other"
    if ping.received == 0:
        return "no-reply"
    return None


class PollObserver:
    def __init__(
        self,
        prober: Prober,
        *,
        on_duration: Callable[[float], None] | None = None,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self._prober = prober
        self._on_duration = on_duration
        self._clock = clock
        self.last_samples: dict[str, Sample] = {}
        self.snmp_errors: Counter[str] = Counter()
        self.icmp_errors: Counter[str] = Counter()
        self.polls = 0

    async def poll(self, device: DeviceConfig) -> Sample:
        started = self._clock()
        sample = await self._prober.poll(device)
        if self._on_duration is not None:
            self._on_duration(self._clock() - started)
        self.polls += 1
        self.last_samples[device.id] = sample
        if sample.ping is not None and (kind := icmp_error_kind(sample.ping)) is not None:
            self.icmp_errors[kind] += 1
        if sample.snmp is not None:
            if sample.snmp.error is not None:
                self.snmp_errors[sample.snmp.error.kind.value] += 1
            for reading in sample.snmp.metrics.values():
                if reading.error is not None:
                    self.snmp_errors[reading.error.kind.value] += 1
        return sample
