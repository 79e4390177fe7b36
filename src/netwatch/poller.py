"""Poll one device: ICMP and SNMP at the same time, into one Sample. The thin I/O shell."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Protocol

import trio
from pydantic import SecretBytes

from netwatch.icmp import Pinger
from netwatch.inventory import DeviceConfig
from netwatch.inventory.custom_metrics import CustomMetric
from netwatch.samples import PingResult, Sample, SnmpError, SnmpErrorKind, SnmpReading
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.profiles import Profile, load_profile, read_profile, with_custom_metrics
from netwatch.snmp.target import SnmpTarget


class Prober(Protocol):
    async def poll(self, device: DeviceConfig) -> Sample: ...


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


class DnsError(Exception):
    pass


async def resolve_address(address: str) -> str:
    """An IP literal as is; a DNS name to its first address (either family)."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        pass
    try:
        infos = await trio.socket.getaddrinfo(address, None, type=socket.SOCK_DGRAM)
    except socket.gaierror as exc:
        raise DnsError(f"DNS: {exc.strerror or 'lookup failed'} ({address})") from None
    if not infos:
        raise DnsError(f"DNS: no address for {address}")
    return str(infos[0][4][0])


class NetworkProber:
    """The real prober: shared Pinger and SnmpClient services, profiles loaded once."""

    def __init__(
        self, pinger: Pinger, snmp: SnmpClient, *, wall_clock: Callable[[], float]
    ) -> None:
        self._pinger = pinger
        self._snmp = snmp
        self._wall_clock = wall_clock
        self._profiles: dict[tuple[str, tuple[CustomMetric, ...]], Profile] = {}

    def _profile(self, device: DeviceConfig) -> Profile:
        key = (device.profile, device.metrics)
        if key not in self._profiles:
            self._profiles[key] = with_custom_metrics(load_profile(device.profile), device.metrics)
        return self._profiles[key]

    async def poll(self, device: DeviceConfig) -> Sample:
        try:
            address = await resolve_address(device.address)
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

        async def do_ping() -> None:
            nonlocal ping
            ping = await self._pinger.ping(
                address,
                count=device.ping.count,
                interval=device.ping.interval,
                timeout=device.ping.timeout,
            )

        async def do_snmp(target: SnmpTarget) -> None:
            nonlocal snmp
            snmp = await read_profile(self._snmp, target, self._profile(device))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(do_ping)
            target = snmp_target_for(device, address)
            if target is not None:
                nursery.start_soon(do_snmp, target)
        return Sample(device.id, self._wall_clock(), ping=ping, snmp=snmp)
