"""Read devices.toml into a resolved, validated Inventory, reporting every problem at once."""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from netwatch.inventory.locate import SourceLines
from netwatch.inventory.paging_schema import EmailSection, PagingSection
from netwatch.inventory.schema import (
    BUILTIN_DEFAULTS,
    DeviceConfig,
    DeviceEntry,
    HttpSection,
    InventoryFile,
    NetwatchSection,
    PagerDutyRestSection,
    PagerDutySection,
)
from netwatch.inventory.secrets import SecretReferenceError, resolve_secret

M = TypeVar("M", bound=BaseModel)
SECRET_SNMP_FIELDS = ("community", "auth_key", "priv_key")
PING_ONLY = "ping-only"
AUTO_PROFILE = "auto"  # chosen per device from sysObjectID/sysDescr (netwatch.snmp.autodetect)


@dataclass(frozen=True, slots=True)
class Problem:
    file: Path
    message: str
    line: int | None = None
    device: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        parts = [where]
        if self.device:
            parts.append(f"device {self.device!r}")
        if self.field:
            parts.append(f"field {self.field!r}")
        return ": ".join([*parts, self.message])


class InventoryError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class Inventory:
    source: Path
    settings: NetwatchSection
    pagerduty: PagerDutySection
    routing_key: bytes | None = field(repr=False)
    devices: tuple[DeviceConfig, ...]
    warnings: tuple[Problem, ...] = ()
    http: HttpSection = field(default_factory=HttpSection)
    pagerduty_rest: PagerDutyRestSection = field(default_factory=PagerDutyRestSection)
    api_token: bytes | None = field(default=None, repr=False)
    webhook_secrets: tuple[bytes, ...] = field(default=(), repr=False)
    paging: PagingSection = field(default_factory=PagingSection)
    # the routing key of each [[paging.routes]] rule, in order (None: the default key)
    route_keys: tuple[bytes | None, ...] = field(default=(), repr=False)
    email: EmailSection | None = None
    smtp_password: bytes | None = field(default=None, repr=False)

    def by_id(self) -> dict[str, DeviceConfig]:
        return {device.id: device for device in self.devices}


def known_profiles() -> frozenset[str]:
    """Profiles are data files shipped in the package, plus ICMP-only devices."""
    folder = resources.files("netwatch") / "profiles"
    names = {p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")}
    return frozenset(names | {PING_ONLY, AUTO_PROFILE})


def load_inventory(path: Path) -> Inventory:
    path = Path(path)
    try:
        # utf-8-sig: Windows editors save UTF-8 with a byte order mark, which TOML refuses
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InventoryError([Problem(path, f"cannot read inventory: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        raise InventoryError([Problem(path, f"not valid UTF-8: {exc.reason}")]) from None
    return parse_inventory(text, path)


def parse_inventory(text: str, path: Path) -> Inventory:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InventoryError([_toml_problem(exc, text, path)]) from None
    lines = SourceLines(text)
    problems: list[Problem] = []

    top = {key: value for key, value in raw.items() if key != "devices"}
    file_model = _validate(InventoryFile, top, path, lines, problems, table=None)
    if not isinstance(raw.get("devices", []), list):
        problems.append(
            Problem(
                path,
                "`devices` must be an array of tables: write [[devices]], not [devices]",
                lines.table_line("devices"),
            )
        )
    if file_model is None or problems:
        raise InventoryError(problems)

    profiles = known_profiles()
    shared = SharedSettings()
    devices: list[DeviceConfig] = []
    for index, entry in enumerate(raw.get("devices", [])):
        device = _resolve_device(index, entry, file_model, path, lines, profiles, problems)
        if device is not None:
            devices.append(shared.share(device))

    warnings: list[Problem] = []
    _check_relations(devices, raw.get("devices", []), path, lines, problems, warnings)

    routing_key = None
    if file_model.pagerduty.routing_key:
        try:
            routing_key = resolve_secret(file_model.pagerduty.routing_key, base_dir=path.parent)
        except SecretReferenceError as exc:
            line = lines.key_line("routing_key", table="pagerduty")
            problems.append(Problem(path, str(exc), line, field="pagerduty.routing_key"))
    rest = file_model.pagerduty_rest
    api_token = None
    webhook_secrets: list[bytes] = []
    for name, reference in [("api_token", rest.api_token)] + [
        ("webhook_secrets", ref) for ref in rest.webhook_secrets
    ]:
        if reference is None:
            continue
        try:
            value = resolve_secret(reference, base_dir=path.parent)
        except SecretReferenceError as exc:
            line = lines.key_line(name, table="pagerduty_rest")
            problems.append(Problem(path, str(exc), line, field=f"pagerduty_rest.{name}"))
            continue
        if name == "api_token":
            api_token = value
        else:
            webhook_secrets.append(value)
    route_keys, smtp_password = _paging_secrets(file_model, routing_key, path, lines, problems)
    if problems:
        raise InventoryError(problems)
    return Inventory(
        source=path,
        settings=file_model.netwatch,
        pagerduty=file_model.pagerduty,
        routing_key=routing_key,
        devices=tuple(devices),
        warnings=tuple(warnings),
        http=file_model.http,
        pagerduty_rest=rest,
        api_token=api_token,
        webhook_secrets=tuple(webhook_secrets),
        paging=file_model.paging,
        route_keys=route_keys,
        email=file_model.email,
        smtp_password=smtp_password,
    )


def _paging_secrets(
    file_model: InventoryFile,
    default_key: bytes | None,
    path: Path,
    lines: SourceLines,
    problems: list[Problem],
) -> tuple[tuple[bytes | None, ...], bytes | None]:
    """The routing key of each routing rule and the SMTP password, resolved."""
    keys: list[bytes | None] = []
    for index, rule in enumerate(file_model.paging.routes):
        if rule.routing_key is None:
            keys.append(None)
            continue
        try:
            keys.append(resolve_secret(rule.routing_key, base_dir=path.parent))
        except SecretReferenceError as exc:
            line = lines.key_line("routing_key", table="paging.routes")
            problems.append(Problem(path, str(exc), line, field=f"paging.routes.{index + 1}"))
            keys.append(None)
    if file_model.paging.routes and default_key is None and file_model.pagerduty.routing_key:
        pass  # its own problem is already reported
    elif file_model.paging.routes and default_key is None:
        problems.append(
            Problem(
                path,
                "[[paging.routes]] needs [pagerduty] routing_key as the default for devices"
                " no rule matches",
                lines.table_line("pagerduty"),
                field="pagerduty.routing_key",
            )
        )
    password = None
    email = file_model.email
    if email is not None and email.password is not None:
        try:
            password = resolve_secret(email.password, base_dir=path.parent)
        except SecretReferenceError as exc:
            line = lines.key_line("password", table="email")
            problems.append(Problem(path, str(exc), line, field="email.password"))
    return tuple(keys), password


def _resolve_device(
    index: int,
    entry: Any,
    file_model: InventoryFile,
    path: Path,
    lines: SourceLines,
    profiles: frozenset[str],
    problems: list[Problem],
) -> DeviceConfig | None:
    line = lines.device_line(index)
    if not isinstance(entry, dict):
        problems.append(Problem(path, "each [[devices]] entry must be a table", line))
        return None
    label = str(entry.get("id", f"#{index + 1}"))
    parsed = _validate(DeviceEntry, entry, path, lines, problems, device=(index, label))
    if parsed is None:
        return None
    layers: list[Mapping[str, Any]] = [BUILTIN_DEFAULTS, _dump(file_model.defaults)]
    if parsed.group is not None:
        group = file_model.groups.get(parsed.group)
        if group is None:
            problems.append(
                Problem(
                    path,
                    f"unknown group {parsed.group!r}",
                    lines.key_line("group", device_index=index),
                    label,
                    "group",
                )
            )
            return None
        layers.append(_dump(group))
    layers.append(_dump(parsed))
    merged = _deep_merge(layers)
    merged.setdefault("name", merged["id"])
    snmp_port = merged.pop("snmp_port", None)
    if snmp_port is not None:
        merged["snmp"]["port"] = snmp_port
    if merged["profile"] not in profiles:
        problems.append(
            Problem(
                path,
                f"unknown profile {merged['profile']!r}; known: {', '.join(sorted(profiles))}",
                lines.key_line("profile", device_index=index),
                label,
                "profile",
            )
        )
        return None
    if merged["profile"] == PING_ONLY:
        merged["snmp"] = None
    else:
        for secret_field in SECRET_SNMP_FIELDS:
            value = merged["snmp"].get(secret_field)
            if value is None:
                continue
            try:
                merged["snmp"][secret_field] = resolve_secret(value, base_dir=path.parent)
            except SecretReferenceError as exc:
                problems.append(
                    Problem(
                        path,
                        str(exc),
                        lines.key_line(secret_field, device_index=index),
                        label,
                        f"snmp.{secret_field}",
                    )
                )
                return None
    return _validate(DeviceConfig, merged, path, lines, problems, device=(index, label))


class SharedSettings:
    """One object for each distinct value of a device's settings tables, shared by every device
    that resolves to it: ten thousand radios inheriting the same [defaults] then hold one
    `snmp`, `ping`, ... between them instead of a copy each (the settings are frozen)."""

    FIELDS = ("snmp", "ping", "thresholds", "severity", "flapping", "tags")

    def __init__(self) -> None:
        self._known: dict[object, object] = {}

    def share(self, device: DeviceConfig) -> DeviceConfig:
        replaced: dict[str, object] = {}
        for name in self.FIELDS:
            value = getattr(device, name)
            try:
                known = self._known.setdefault((name, value), value)
            except TypeError:  # an unhashable value (none today) is simply not shared
                continue
            if known is not value:
                replaced[name] = known
        return device.model_copy(update=replaced) if replaced else device


def _check_relations(
    devices: list[DeviceConfig],
    entries: list[Any],
    path: Path,
    lines: SourceLines,
    problems: list[Problem],
    warnings: list[Problem],
) -> None:
    first_index: dict[str, int] = {}
    for index, entry in enumerate(entries):
        device_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(device_id, str):
            continue
        if device_id in first_index:
            problems.append(
                Problem(
                    path,
                    "duplicate id (first defined at line "
                    f"{lines.device_line(first_index[device_id])})",
                    lines.key_line("id", device_index=index),
                    device_id,
                    "id",
                )
            )
        else:
            first_index[device_id] = index

    by_id = {device.id: device for device in devices}
    seen_endpoint: dict[tuple[str, int], str] = {}
    for device in devices:
        device_index = first_index.get(device.id)
        parent_line = lines.key_line("parent", device_index=device_index)
        if device.parent is not None:
            if device.parent == device.id:
                problems.append(
                    Problem(
                        path, "a device cannot be its own parent", parent_line, device.id, "parent"
                    )
                )
            elif device.parent not in by_id and device.parent not in first_index:
                problems.append(
                    Problem(
                        path,
                        f"parent {device.parent!r} is not a device in this inventory",
                        parent_line,
                        device.id,
                        "parent",
                    )
                )
        port = device.snmp.port if device.snmp else 161
        endpoint = (device.address.lower(), port)
        if endpoint in seen_endpoint:
            warnings.append(
                Problem(
                    path,
                    f"same address and port as device {seen_endpoint[endpoint]!r} (added twice?)",
                    lines.key_line("address", device_index=device_index),
                    device.id,
                    "address",
                )
            )
        else:
            seen_endpoint[endpoint] = device.id

    for cycle in _parent_cycles(by_id):
        first = cycle[0]
        cycle_index = first_index.get(first)
        problems.append(
            Problem(
                path,
                "parent cycle: " + " -> ".join([*cycle, first]),
                lines.key_line("parent", device_index=cycle_index),
                first,
                "parent",
            )
        )


def _parent_cycles(by_id: Mapping[str, DeviceConfig]) -> Iterable[list[str]]:
    reported: set[str] = set()
    for start in by_id:
        chain: list[str] = []
        current: str | None = start
        while current is not None and current in by_id and current not in chain:
            if current in reported:
                break
            chain.append(current)
            current = by_id[current].parent
        if current is not None and current in chain:
            cycle = chain[chain.index(current) :]
            if len(cycle) > 1 and not reported.intersection(cycle):
                reported.update(cycle)
                yield cycle


def _validate(
    model: type[M],
    data: Any,
    path: Path,
    lines: SourceLines,
    problems: list[Problem],
    *,
    device: tuple[int, str] | None = None,
    table: str | None = None,
) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            location = [str(part) for part in error["loc"] if not isinstance(part, int)]
            field_path = ".".join(location) or None
            key = location[-1] if location else None
            if device is not None:
                line = (
                    lines.key_line(key, device_index=device[0])
                    if key
                    else lines.device_line(device[0])
                )
            elif key:
                line = _table_key_line(lines, location)
            else:
                line = None
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key (misspelled?)"
            problems.append(Problem(path, message, line, device[1] if device else None, field_path))
        return None


def _table_key_line(lines: SourceLines, location: list[str]) -> int | None:
    """Line of the last key in `location` (e.g. defaults.snmp.community), looked up under the
    deepest table header that exists: `[defaults.snmp]`, else `[defaults]` (inline tables)."""
    for depth in range(len(location) - 1, 0, -1):
        line = lines.key_line(location[-1], table=".".join(location[:depth]))
        if line is not None:
            return line
    return lines.key_line(location[-1])


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_none=True, exclude_unset=True)


def _deep_merge(layers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        _merge_into(merged, layer)
    return merged


# Lists that add up across layers: a group's window and a device's own window both apply.
_ADDITIVE_LISTS = frozenset({"maintenance"})


def _merge_into(target: dict[str, Any], layer: Mapping[str, Any]) -> None:
    for key, value in layer.items():
        if key in _ADDITIVE_LISTS and isinstance(value, list):
            target[key] = [*target.get(key, []), *copy.deepcopy(value)]
        elif isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge_into(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)")


def _toml_problem(exc: tomllib.TOMLDecodeError, text: str, path: Path) -> Problem:
    message = str(exc)
    position = _TOML_POSITION.search(message)
    line = int(position.group(1)) if position else None
    message = _TOML_POSITION.sub("", message).strip()
    hint = ""
    if "Cannot declare" in message or "declared" in message.lower():
        hint = " (a table declared twice: for several devices write [[devices]], not [devices])"
    elif "Invalid value" in message or "Expected" in message:
        hint = ' (strings must be quoted: address = "192.0.2.1")'
    return Problem(path, f"TOML syntax: {message}{hint}", line)
