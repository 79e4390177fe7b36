"""`netwatch poll`: poll one device once and show everything, for the field technician.

Every raw varbind with its decoded value, the profile's readings, and the checks' verdicts.
SNMP only: ICMP needs privileges the troubleshooting tool should not require.

    netwatch poll tower-3-ap --config devices.toml
    netwatch poll --address 192.0.2.7 --community env:RO_COMMUNITY --profile auto
    netwatch poll --address 192.0.2.7 --version 3 --user mon --auth-protocol SHA256 \\
        --auth-key env:AUTH --priv-protocol AES --priv-key env:PRIV
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import trio

from netwatch.checks import CPU, SNMP, TEMPERATURE, judge_sample
from netwatch.inventory import DeviceConfig, InventoryError, load_inventory
from netwatch.inventory.schema import BUILTIN_DEFAULTS
from netwatch.inventory.secrets import SecretReferenceError, is_reference, resolve_secret
from netwatch.samples import Sample, SnmpError, SnmpReading
from netwatch.snmp.autodetect import AUTO
from netwatch.snmp.client import SnmpClient
from netwatch.snmp.detect import detect_profile
from netwatch.snmp.mibs import name_for_oid
from netwatch.snmp.profiles import load_profile, read_profile, with_custom_metrics
from netwatch.snmp.results import GetResult, VarBind, WalkResult
from netwatch.snmp.target import SnmpTarget
from netwatch.snmp.text import one_line

_TIMETICKS_PER_SECOND = 100


def add_poll_parser(commands: Any, default_config: Path) -> None:
    poll = commands.add_parser(
        "poll", help="poll one device once: raw varbinds, readings, verdicts"
    )
    poll.add_argument("device_id", nargs="?", help="a device of the inventory")
    poll.add_argument("--config", type=Path, default=default_config)
    poll.add_argument("--address", help="poll this address instead of an inventory device")
    poll.add_argument("--port", type=int, default=161)
    poll.add_argument("--profile", default=AUTO, help="a profile name, or auto (default)")
    poll.add_argument("--version", dest="snmp_version", choices=["1", "2c", "3"], default="2c")
    poll.add_argument("--community", help="literal, env:NAME or file:PATH")
    poll.add_argument("--user")
    poll.add_argument("--auth-protocol", choices=["MD5", "SHA", "SHA224", "SHA256", "SHA384",
                                                  "SHA512"])  # fmt: skip
    poll.add_argument("--auth-key", help="literal, env:NAME or file:PATH")
    poll.add_argument("--priv-protocol", choices=["DES", "3DES", "AES", "AES192", "AES256"])
    poll.add_argument("--priv-key", help="literal, env:NAME or file:PATH")
    poll.add_argument("--timeout", type=float, default=2.0)
    poll.add_argument("--retries", type=int, default=1)


def run_poll(args: argparse.Namespace, out: TextIO | None = None) -> int:
    try:
        device = _device_from_args(args)
    except (InventoryError, SecretReferenceError, ValueError, LookupError) as exc:
        print(f"netwatch poll: {exc}", file=sys.stderr)
        return 2
    if device.snmp is None or not device.uses_snmp:
        print(f"netwatch poll: {device.id} is not polled with SNMP", file=sys.stderr)
        return 2
    return trio.run(poll_and_print, device, out or sys.stdout)


def _device_from_args(args: argparse.Namespace) -> DeviceConfig:
    if args.address is None:
        if args.device_id is None:
            raise ValueError("name a device of the inventory, or give --address")
        inventory = load_inventory(args.config)
        device = inventory.by_id().get(args.device_id)
        if device is None:
            raise LookupError(f"no device {args.device_id!r} in {args.config}")
        if args.profile != AUTO:
            device = device.model_copy(update={"profile": args.profile})
        return device
    base = Path.cwd()

    def secret(option: str, value: str | None) -> str | None:
        if value is None:
            return None
        if not is_reference(value):
            # Like snmpget's -c, but netwatch can do better: say so, never echo the value.
            print(
                f"netwatch poll: warning: {option} was given literally; anyone on this machine"
                " can read it in the process list. Use env:NAME or file:PATH instead.",
                file=sys.stderr,
            )
        return resolve_secret(value, base_dir=base).decode()

    snmp = {
        **BUILTIN_DEFAULTS["snmp"],
        "version": args.snmp_version,
        "port": args.port,
        "community": secret("--community", args.community),
        "user": args.user,
        "auth_protocol": args.auth_protocol,
        "auth_key": secret("--auth-key", args.auth_key),
        "priv_protocol": args.priv_protocol,
        "priv_key": secret("--priv-key", args.priv_key),
        "timeout": args.timeout,
        "retries": args.retries,
    }
    data = {**BUILTIN_DEFAULTS, "id": args.address, "name": args.address}
    data.update(address=args.address, profile=args.profile, snmp=snmp)
    return DeviceConfig.model_validate(data)


@dataclass
class RecordingClient:
    """SnmpClient's reading surface, keeping every varbind that came back, in order."""

    client: SnmpClient
    varbinds: list[VarBind] = field(default_factory=list)

    async def get(self, target: SnmpTarget, oids: Sequence[str]) -> GetResult:
        result = await self.client.get(target, oids)
        self.varbinds.extend(result.varbinds)
        return result

    async def get_next(self, target: SnmpTarget, oids: Sequence[str]) -> GetResult:
        result = await self.client.get_next(target, oids)
        self.varbinds.extend(result.varbinds)
        return result

    async def walk(self, target: SnmpTarget, root_oid: str, *, max_rows: int = 1000) -> WalkResult:
        result = await self.client.walk(target, root_oid, max_rows=max_rows)
        self.varbinds.extend(result.rows)
        return result


async def poll_and_print(device: DeviceConfig, out: TextIO) -> int:
    from netwatch.poller import resolve_address, snmp_target_for

    address = await resolve_address(device.address)
    target = snmp_target_for(device, address)
    assert target is not None
    async with trio.open_nursery() as nursery:
        client = SnmpClient()
        await nursery.start(client.run)
        recorder = RecordingClient(client)
        reading = await _read(recorder, device, target)
        nursery.cancel_scope.cancel()
    _print_report(device, target, recorder.varbinds, reading, out)
    return 0 if reading.error is None else 1


async def _read(recorder: RecordingClient, device: DeviceConfig, target: SnmpTarget) -> SnmpReading:
    reason = ""
    name = device.profile
    if name == AUTO:
        detection = await detect_profile(recorder, target)
        if isinstance(detection, SnmpError):
            return SnmpReading(error=detection, profile=AUTO)
        name, reason = detection.profile, detection.reason
    profile = with_custom_metrics(load_profile(name), device.metrics)
    reading = await read_profile(recorder, target, profile)
    return replace(reading, profile=name, profile_reason=reason)


def _print_report(
    device: DeviceConfig,
    target: SnmpTarget,
    varbinds: list[VarBind],
    reading: SnmpReading,
    out: TextIO,
) -> None:
    def say(text: str = "") -> None:
        print(text, file=out)

    security = f"v{target.version}" + (f" user {target.user}" if target.version == "3" else "")
    say(f"device {device.id} at {target.address}:{target.port}, SNMP {security}")
    chosen = reading.profile or device.profile
    say(
        f"profile {chosen}"
        + (f" (auto: {reading.profile_reason})" if reading.profile_reason else "")
    )
    say()
    say(f"varbinds ({len(varbinds)}):")
    for varbind in varbinds:
        name = name_for_oid(varbind.oid) or ""
        say(f"  {varbind.oid:<40} {name:<52} {varbind.type_name:<15} {describe_value(varbind)}")
    say()
    if reading.error is not None:
        say(f"SNMP failed: {reading.error}")
    else:
        say("readings:")
        for metric, metric_reading in reading.metrics.items():
            if metric_reading.value is None:
                say(f"  {metric:<14} -          {metric_reading.error}")
            else:
                say(f"  {metric:<14} {metric_reading.value:<10g} {metric_reading.source}")
    say()
    verdicts = judge_sample(device, Sample(device.id, 0.0, ping=None, snmp=reading), {})
    say("verdicts:")
    for check, verdict in verdicts.items():
        if check not in (SNMP, CPU, TEMPERATURE) and check not in reading.metrics:
            continue  # ICMP checks: not probed here
        state = verdict.level.name.lower() if verdict.known else "unknown"
        value = (
            "" if verdict.value is None or not verdict.known else f"{verdict.value:g}{verdict.unit}"
        )
        limit = f" (threshold {verdict.threshold:g})" if verdict.threshold is not None else ""
        say(f"  {check:<14} {state:<9} {value}{limit} {verdict.detail}".rstrip())


def describe_value(varbind: VarBind) -> str:
    """A raw value as people read it: text decoded, TimeTicks as a duration."""
    value = varbind.value
    if value is None:
        return f"({varbind.type_name})"
    if isinstance(value, bytes):
        return repr(one_line(value))
    if varbind.type_name == "TimeTicks" and isinstance(value, int):
        return f"{value} ({_duration(value // _TIMETICKS_PER_SECOND)})"
    return str(value)


def _duration(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours:02d}:{minutes:02d}:{seconds:02d}"
