"""Poll one device: ICMP and SNMP at the same time, into one Sample. The thin I/O shell."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

import trio
from pydantic import SecretBytes

from netwatch.icmp import Pinger
from netwatch.inventory import DeviceConfig
from netwatch.inventory.custom_metrics import CustomMetric
from netwatch.resolver import DnsError, Resolver
from netwatch.samples import PingResult, Sample, SnmpError, SnmpErrorKind, SnmpReading
from netwatch.snmp.autodetect import AUTO, Detection
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.counters import Reboot, UptimeSample, detect_reboot
from netwatch.snmp.detect import detect_profile
from netwatch.snmp.profiles import Profile, load_profile, read_profile, with_custom_metrics
from netwatch.snmp.target import SnmpTarget

log = logging.getLogger(__name__)


class Prober(Protocol):
    async def poll(self, device: DeviceConfig) -> Sample: ...


class PollLost(Exception):
    """No sample this time, for a reason already logged (the poll worker holding it died):
    the device reads as unknown for this cycle."""


def snmp_target_for(device: DeviceConfig, address: str) -> SnmpTarget | None:
    settings = device.snmp
    if settings is None or not device.uses_snmp:
        return None

    def secret(value: SecretBytes | None) -> bytes | None:
        return None if value is None else value.get_secret_value()

    return SnmpTarget(
        address=address,
        port=settings.port,
        version=settings.version,
        community=secret(settings.community),
        user=settings.user,
        auth_protocol=settings.auth_protocol,
        auth_key=secret(settings.auth_key),
        priv_protocol=settings.priv_protocol,
        priv_key=secret(settings.priv_key),
        timeout=settings.timeout,
        retries=settings.retries,
    )


async def resolve_address(address: str) -> str:
    """An IP literal as is; a DNS name to its first address (either family), uncached.
    DnsError when there is none."""
    return (await Resolver(cache_for=0).resolve(address, "any", trio.current_time()))[0]


class NetworkProber:
    """The real prober: shared Pinger and SnmpClient services, profiles loaded once."""

    def __init__(
        self,
        pinger: Pinger,
        snmp: SnmpClient,
        *,
        wall_clock: Callable[[], float],
        resolver: Resolver | None = None,
    ) -> None:
        self._pinger = pinger
        self._snmp = snmp
        self._wall_clock = wall_clock
        self._resolver = resolver or Resolver()
        self._profiles: dict[tuple[str, tuple[CustomMetric, ...]], Profile] = {}
        self._detections: dict[tuple[str, str], Detection] = {}
        self._uptimes: dict[str, UptimeSample] = {}
        self._reboots: dict[str, Reboot] = {}

    def last_reboot(self, device_id: str) -> Reboot | None:
        """The last reboot seen (sysUpTime went backwards) since netwatch started."""
        return self._reboots.get(device_id)

    def _note_uptime(self, device_id: str, reading: SnmpReading, at: float) -> None:
        if reading.uptime_ticks is None:
            return
        current = UptimeSample(reading.uptime_ticks, at)
        previous = self._uptimes.get(device_id)
        self._uptimes[device_id] = current
        if previous is not None and (reboot := detect_reboot(previous, current)) is not None:
            self._reboots[device_id] = reboot
            log.warning("%s: %s", device_id, reboot.describe(at))

    def detected_profile(self, device_id: str) -> Detection | None:
        """What `profile = "auto"` chose for a device, once its agent has answered."""
        for (detected_id, _), detection in self._detections.items():
            if detected_id == device_id:
                return detection
        return None

    def _profile(self, device: DeviceConfig, name: str) -> Profile:
        key = (name, device.metrics)
        if key not in self._profiles:
            self._profiles[key] = with_custom_metrics(load_profile(name), device.metrics)
        return self._profiles[key]

    async def read_snmp(self, device: DeviceConfig, target: SnmpTarget) -> SnmpReading:
        if device.profile != AUTO:
            reading = await read_profile(self._snmp, target, self._profile(device, device.profile))
            return replace(reading, profile=device.profile)
        # Detected once per device and address; a failed detection is retried next poll.
        key = (device.id, target.address)
        detection = self._detections.get(key)
        if detection is None:
            detected = await detect_profile(self._snmp, target)
            if isinstance(detected, SnmpError):
                return SnmpReading(error=detected, profile=AUTO)
            for stale in [k for k in self._detections if k[0] == device.id]:
                del self._detections[stale]
            detection = self._detections[key] = detected
        reading = await read_profile(self._snmp, target, self._profile(device, detection.profile))
        return replace(reading, profile=detection.profile, profile_reason=detection.reason)

    async def poll(self, device: DeviceConfig) -> Sample:
        try:
            addresses = await self._resolver.resolve(
                device.address, device.ping.family, trio.current_time()
            )
        except DnsError as exc:
            failure = SnmpError(SnmpErrorKind.TRANSPORT, str(exc))
            return Sample(
                device.id,
                self._wall_clock(),
                ping=PingResult(device.address, sent=0, received=0, error=str(exc)),
                snmp=SnmpReading(error=failure) if device.uses_snmp else None,
            )
        ping: PingResult | None = None
        snmp: SnmpReading | None = None
        # SNMP goes to the address tried first: the one that answered last time.
        address = addresses[0]

        async def do_ping() -> None:
            nonlocal ping
            ping = await ping_first_answering(self._pinger, self._resolver, device, addresses)

        async def do_snmp(target: SnmpTarget) -> None:
            nonlocal snmp
            snmp = await self.read_snmp(device, target)
            self._note_uptime(device.id, snmp, self._wall_clock())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(do_ping)
            target = snmp_target_for(device, address)
            if target is not None:
                nursery.start_soon(do_snmp, target)
        return Sample(device.id, self._wall_clock(), ping=ping, snmp=snmp)


async def ping_first_answering(
    pinger: Pinger, resolver: Resolver, device: DeviceConfig, addresses: Sequence[str]
) -> PingResult:
    """Ping the addresses one after another until one answers; that one is tried first next
    time. When none answers, the first address's result stands (it names the address)."""
    first: PingResult | None = None
    for address in addresses:
        result = await pinger.ping(
            address,
            count=device.ping.count,
            interval=device.ping.interval,
            timeout=device.ping.timeout,
        )
        if result.received:
            resolver.answered(device.address, device.ping.family, address)
            return result
        first = first or result
    assert first is not None, "resolve() never returns an empty tuple"
    return first
