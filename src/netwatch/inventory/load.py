"""Read devices.toml into a resolved, validated Inventory, reporting every problem at once."""

from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

from pydantic import BaseModel, ValidationError

from netwatch.inventory.locate import SourceLines
from netwatch.inventory.messages import field_path, people_message
from netwatch.inventory.paging_schema import EmailSection, PagingSection
from netwatch.inventory.schema import (
    BUILTIN_DEFAULTS,
    USM_KEY_FIELDS,
    DeviceConfig,
    DeviceEntry,
    HttpSection,
    InventoryFile,
    NetwatchSection,
    PagerDutyRestSection,
    PagerDutySection,
    SettingsLayer,
    short_usm_key,
)
from netwatch.inventory.secrets import SecretReferenceError, open_to_others, resolve_secret

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
    loader = _Loader(path, SourceLines(text))

    top = {key: value for key, value in raw.items() if key != "devices"}
    file_model = loader.validate(InventoryFile, top)
    entries = raw.get("devices", [])
    if not isinstance(entries, list):
        loader.problems.append(
            Problem(
                path,
                "`devices` must be an array of tables: write [[devices]], not [devices]",
                loader.lines.table_line("devices"),
            )
        )
        entries = []

    # Each device is still checked when [defaults] or a group is broken: one run of
    # check-config lists every problem, not the first layer's.
    layers = _usable_layers(raw, file_model)
    profiles = known_profiles()
    shared = SharedSettings()
    devices: list[DeviceConfig] = []
    for index, entry in enumerate(entries):
        device = loader.device(index, entry, layers, profiles)
        if device is not None:
            devices.append(shared.share(device))
    loader.report_layer_issues()
    loader.check_relations(entries, devices)
    if file_model is None:
        raise InventoryError(loader.problems)

    routing_key = loader.top_secret(
        file_model.pagerduty.routing_key, "pagerduty.routing_key", ("pagerduty",), "routing_key"
    )
    if routing_key is not None and file_model.pagerduty.routing_key is not None:
        loader.check_routing_key(
            routing_key, file_model.pagerduty.routing_key, "pagerduty.routing_key", ("pagerduty",)
        )
    rest = file_model.pagerduty_rest
    api_token = loader.top_secret(
        rest.api_token, "pagerduty_rest.api_token", ("pagerduty_rest",), "api_token"
    )
    webhook_secrets: list[bytes] = []
    for reference in rest.webhook_secrets:
        value = loader.top_secret(
            reference, "pagerduty_rest.webhook_secrets", ("pagerduty_rest",), "webhook_secrets"
        )
        if value is not None:
            webhook_secrets.append(value)
    route_keys, smtp_password = _paging_secrets(file_model, routing_key, loader)
    if loader.problems:
        raise InventoryError(loader.problems)
    return Inventory(
        source=path,
        settings=file_model.netwatch,
        pagerduty=file_model.pagerduty,
        routing_key=routing_key,
        devices=tuple(devices),
        warnings=tuple(loader.warnings),
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
    file_model: InventoryFile, default_key: bytes | None, loader: _Loader
) -> tuple[tuple[bytes | None, ...], bytes | None]:
    """The routing key of each routing rule and the SMTP password, resolved."""
    keys: list[bytes | None] = []
    for index, rule in enumerate(file_model.paging.routes):
        name = f"paging.routes[{index + 1}].routing_key"
        key = loader.top_secret(rule.routing_key, name, ("paging", "routes", index), "routing_key")
        if key is not None and rule.routing_key is not None:
            loader.check_routing_key(key, rule.routing_key, name, ("paging", "routes", index))
        keys.append(key)
    if file_model.paging.routes and default_key is None and file_model.pagerduty.routing_key:
        pass  # its own problem is already reported
    elif file_model.paging.routes and default_key is None:
        loader.problems.append(
            Problem(
                loader.path,
                "[[paging.routes]] needs [pagerduty] routing_key as the default for devices"
                " no rule matches",
                loader.lines.table_line("pagerduty"),
                field="pagerduty.routing_key",
            )
        )
    email = file_model.email
    password = None
    if email is not None:
        password = loader.top_secret(email.password, "email.password", ("email",), "password")
    return tuple(keys), password


# Where a setting is written: ("defaults",), ("groups", NAME), or the device itself.
LayerName: TypeAlias = tuple[str, ...]
DEVICE: LayerName = ()
# Stands in for a secret that could not be read, so the device's other checks still run.
_PLACEHOLDER_SECRET = b"\0" * 8
_ROUTING_KEY = re.compile(rb"[A-Za-z0-9]{32}")


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


@dataclass(frozen=True)
class _Layers:
    """The validated `[defaults]` and groups; None where that table has problems of its own."""

    defaults: dict[str, Any] | None
    groups: dict[str, dict[str, Any] | None] | None


def _usable_layers(raw: Mapping[str, Any], file_model: InventoryFile | None) -> _Layers:
    if file_model is not None:
        return _Layers(
            _dump(file_model.defaults), {n: _dump(g) for n, g in file_model.groups.items()}
        )
    groups = raw.get("groups", {})
    return _Layers(
        _quietly(SettingsLayer, raw.get("defaults", {})),
        {name: _quietly(SettingsLayer, group) for name, group in groups.items()}
        if isinstance(groups, dict)
        else None,
    )


def _quietly(model: type[BaseModel], data: Any) -> dict[str, Any] | None:
    try:
        return _dump(model.model_validate(data))
    except ValidationError:
        return None


class _Loader:
    """Collects problems and warnings while an inventory is checked."""

    def __init__(self, path: Path, lines: SourceLines) -> None:
        self.path = path
        self.lines = lines
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self._secrets: dict[str, bytes | SecretReferenceError] = {}
        # one problem per wrong inherited value, naming the devices it breaks
        self._layer_issues: dict[tuple[LayerName, tuple[int | str, ...], str], list[str]] = {}
        self._warned_files: set[Path] = set()

    # ---- validation and location ----

    def validate(
        self, model: type[M], data: Any, *, device: tuple[int, str] | None = None
    ) -> M | None:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False, include_input=False):
                message = people_message(error)
                if device is not None:
                    self.device_problem(device, error["loc"], message)
                else:
                    self.problems.append(
                        Problem(
                            self.path,
                            message,
                            self.top_line(error["loc"]),
                            field=field_path(error["loc"]) or None,
                        )
                    )
            return None

    def device_problem(
        self, device: tuple[int, str], loc: Sequence[int | str], message: str
    ) -> None:
        names = [part for part in loc if isinstance(part, str)]
        line = (
            self.lines.key_line(names[-1], device_index=device[0])
            if names
            else self.lines.device_line(device[0])
        )
        self.problems.append(Problem(self.path, message, line, device[1], field_path(loc) or None))

    def top_line(self, loc: Sequence[int | str]) -> int | None:
        """Line of a key outside [[devices]]: inside the N-th block of an array of tables
        (`[[paging.routes]]`) or under the deepest table header that exists."""
        names = [part for part in loc if isinstance(part, str)]
        for position, part in enumerate(loc):
            if isinstance(part, int):
                array = ".".join(str(p) for p in loc[:position])
                after = [p for p in loc[position + 1 :] if isinstance(p, str)]
                line = self.lines.array_key_line(array, part, after[-1] if after else None)
                if line is not None:
                    return line
                break
        return _table_key_line(self.lines, names) if names else None

    # ---- secrets ----

    def secret(self, reference: str) -> bytes:
        cached = self._secrets.get(reference)
        if cached is None:
            try:
                cached = resolve_secret(reference, base_dir=self.path.parent)
            except SecretReferenceError as exc:
                cached = exc
            self._secrets[reference] = cached
        if isinstance(cached, SecretReferenceError):
            raise cached
        return cached

    def warn_if_open(
        self, reference: str, line: int | None, device: str | None, field_name: str
    ) -> None:
        opened = open_to_others(reference, base_dir=self.path.parent)
        if opened is None or opened[0] in self._warned_files:
            return
        self._warned_files.add(opened[0])
        file, mode = opened
        self.warnings.append(
            Problem(
                self.path,
                f"secret file {file} can be read by other users (mode {mode:04o}): "
                f"chmod 600 {file}",
                line,
                device,
                field_name,
            )
        )

    def top_secret(
        self, reference: str | None, name: str, loc: tuple[int | str, ...], key: str
    ) -> bytes | None:
        if reference is None:
            return None
        line = self.top_line((*loc, key))
        try:
            value = self.secret(reference)
        except SecretReferenceError as exc:
            self.problems.append(Problem(self.path, str(exc), line, field=name))
            return None
        self.warn_if_open(reference, line, None, name)
        return value

    def check_routing_key(
        self, key: bytes, reference: str, name: str, loc: tuple[int | str, ...]
    ) -> None:
        # Never show the value: only where it was read from.
        if not _ROUTING_KEY.fullmatch(key):
            self.problems.append(
                Problem(
                    self.path,
                    f"the routing key read from {reference} is not 32 letters and digits"
                    " (a PagerDuty Events API v2 integration key)",
                    self.top_line((*loc, "routing_key")),
                    field=name,
                )
            )

    def _device_secret(
        self, index: int, label: str, field_name: str, reference: str
    ) -> bytes | None:
        line = self.lines.key_line(field_name, device_index=index)
        try:
            value = self.secret(reference)
        except SecretReferenceError as exc:
            self.problems.append(Problem(self.path, str(exc), line, label, f"snmp.{field_name}"))
            return None
        self.warn_if_open(reference, line, label, f"snmp.{field_name}")
        return value

    def _layer_secret(
        self, layer: LayerName, field_name: str, reference: str, label: str
    ) -> bytes | None:
        try:
            value = self.secret(reference)
        except SecretReferenceError as exc:
            self.layer_issue(layer, ("snmp", field_name), str(exc), label)
            return None
        line = _table_key_line(self.lines, [*layer, "snmp", field_name])
        self.warn_if_open(reference, line, None, field_path([*layer, "snmp", field_name]))
        return value

    # ---- wrong values written in [defaults] or a group ----

    def layer_issue(
        self, layer: LayerName, loc: tuple[int | str, ...], message: str, device: str
    ) -> None:
        self._layer_issues.setdefault((layer, loc, message), []).append(device)

    def report_layer_issues(self) -> None:
        for (layer, loc, message), devices in self._layer_issues.items():
            names = [*layer, *(part for part in loc if isinstance(part, str))]
            self.problems.append(
                Problem(
                    self.path,
                    f"{message} ({_used_by(devices)})",
                    _table_key_line(self.lines, names),
                    field=field_path([*layer, *loc]),
                )
            )
        self._layer_issues.clear()

    # ---- devices ----

    def device(
        self, index: int, entry: Any, layers: _Layers, profiles: frozenset[str]
    ) -> DeviceConfig | None:
        if not isinstance(entry, dict):
            problem = "each [[devices]] entry must be a table"
            self.problems.append(Problem(self.path, problem, self.lines.device_line(index)))
            return None
        label = str(entry.get("id", f"#{index + 1}"))
        parsed = self.validate(DeviceEntry, entry, device=(index, label))
        own_profile = entry.get("profile")
        if isinstance(own_profile, str) and own_profile not in profiles:
            self.problems.append(
                Problem(
                    self.path,
                    _unknown_profile(own_profile, profiles),
                    self.lines.key_line("profile", device_index=index),
                    label,
                    "profile",
                )
            )
            parsed = None
        stack = None if parsed is None else self._stack(index, label, parsed, layers)
        if stack is None:
            # The device cannot be resolved, but its own secrets can still be checked.
            own_snmp = entry.get("snmp")
            if isinstance(own_snmp, dict) and own_profile != PING_ONLY:
                for field_name in SECRET_SNMP_FIELDS:
                    reference = own_snmp.get(field_name)
                    if not isinstance(reference, str):
                        continue
                    value = self._device_secret(index, label, field_name, reference)
                    if value is not None and field_name in USM_KEY_FIELDS:
                        short = short_usm_key(field_name, value)
                        if short is not None:
                            self.device_problem((index, label), ("snmp", field_name), short)
            return None
        return self._resolve(index, label, stack, profiles)

    def _stack(
        self, index: int, label: str, parsed: DeviceEntry, layers: _Layers
    ) -> list[tuple[LayerName, dict[str, Any]]] | None:
        """The device's layers, or None when one of them has problems of its own."""
        stack: list[tuple[LayerName, dict[str, Any]]] = []
        if parsed.group is not None:
            if layers.groups is None:
                return None
            if parsed.group not in layers.groups:
                self.problems.append(
                    Problem(
                        self.path,
                        f"unknown group {parsed.group!r}",
                        self.lines.key_line("group", device_index=index),
                        label,
                        "group",
                    )
                )
                return None
            group = layers.groups[parsed.group]
            if group is None:
                return None
            stack.append((("groups", parsed.group), group))
        if layers.defaults is None:
            return None
        return [(("defaults",), layers.defaults), *stack, (DEVICE, _dump(parsed))]

    def _resolve(
        self,
        index: int,
        label: str,
        stack: list[tuple[LayerName, dict[str, Any]]],
        profiles: frozenset[str],
    ) -> DeviceConfig | None:
        merged = _deep_merge([BUILTIN_DEFAULTS, *(layer for _, layer in stack)])
        merged.setdefault("name", merged["id"])
        snmp_port = merged.pop("snmp_port", None)
        if snmp_port is not None:
            merged["snmp"]["port"] = snmp_port
        if merged["profile"] not in profiles:
            # the device's own profile is checked before: this one is inherited
            source = _source(stack, ("profile",))
            self.layer_issue(
                source, ("profile",), _unknown_profile(merged["profile"], profiles), label
            )
            return None
        unreadable: set[str] = set()
        if merged["profile"] == PING_ONLY:
            merged["snmp"] = None
        else:
            for field_name in SECRET_SNMP_FIELDS:
                reference = merged["snmp"].get(field_name)
                if reference is None:
                    continue
                source = _source(stack, ("snmp", field_name))
                if source == DEVICE:
                    value = self._device_secret(index, label, field_name, reference)
                else:
                    value = self._layer_secret(source, field_name, reference, label)
                if value is None:
                    unreadable.add(field_name)
                merged["snmp"][field_name] = _PLACEHOLDER_SECRET if value is None else value
        try:
            device = DeviceConfig.model_validate(merged)
        except ValidationError as exc:
            for error in exc.errors(include_url=False, include_input=False):
                loc = tuple(error["loc"])
                names = tuple(part for part in loc if isinstance(part, str))
                if names[:1] == ("snmp",) and names[1:2] and names[1] in unreadable:
                    continue  # already reported as unreadable
                message = people_message(error)
                source = _source(stack, names)
                if source == DEVICE:
                    self.device_problem((index, label), loc, message)
                else:
                    self.layer_issue(source, loc, message, label)
            return None
        return None if unreadable else device

    # ---- relations between devices ----

    def check_relations(self, entries: list[Any], devices: list[DeviceConfig]) -> None:
        """Over every entry with an id, resolved or not: duplicates, parents, cycles."""
        first_index: dict[str, int] = {}
        parents: dict[str, str | None] = {}
        for index, entry in enumerate(entries):
            device_id = entry.get("id") if isinstance(entry, dict) else None
            if not isinstance(device_id, str):
                continue
            if device_id in first_index:
                self.problems.append(
                    Problem(
                        self.path,
                        "duplicate id (first defined at line "
                        f"{self.lines.device_line(first_index[device_id])})",
                        self.lines.key_line("id", device_index=index),
                        device_id,
                        "id",
                    )
                )
            else:
                first_index[device_id] = index
                parent = entry.get("parent")
                parents[device_id] = parent if isinstance(parent, str) else None

        for index, entry in enumerate(entries):
            device_id = entry.get("id") if isinstance(entry, dict) else None
            parent = entry.get("parent") if isinstance(entry, dict) else None
            if not isinstance(device_id, str) or not isinstance(parent, str):
                continue
            line = self.lines.key_line("parent", device_index=index)
            if parent == device_id:
                message = "a device cannot be its own parent"
            elif parent not in first_index:
                message = f"parent {parent!r} is not a device in this inventory"
            else:
                continue
            self.problems.append(Problem(self.path, message, line, device_id, "parent"))

        self._same_address_warnings(devices, first_index)

        for cycle in _parent_cycles(parents):
            first = cycle[0]
            self.problems.append(
                Problem(
                    self.path,
                    "parent cycle: " + " -> ".join([*cycle, first]),
                    self.lines.key_line("parent", device_index=first_index.get(first)),
                    first,
                    "parent",
                )
            )

    def _same_address_warnings(
        self, devices: list[DeviceConfig], first_index: Mapping[str, int]
    ) -> None:
        """One device added twice: the same address and SNMP port, or the same address for
        a ping-only device (it has no port). The same address on other ports is fine."""
        by_endpoint: dict[tuple[str, int], str] = {}
        by_address: dict[str, str] = {}  # the first device at each address
        ping_only: dict[str, str] = {}  # the first ping-only device at each address
        for device in devices:
            address = device.address.lower().removesuffix(".")
            if device.snmp is None:
                twin = by_address.get(address)
                message = f"same address as device {twin!r} (added twice?)"
            else:
                endpoint = (address, device.snmp.port)
                twin = by_endpoint.get(endpoint)
                message = f"same address and port as device {twin!r} (added twice?)"
                if twin is None:
                    twin = ping_only.get(address)
                    message = f"same address as device {twin!r} (added twice?)"
                by_endpoint.setdefault(endpoint, device.id)
            by_address.setdefault(address, device.id)
            if device.snmp is None:
                ping_only.setdefault(address, device.id)
            if twin is not None and twin != device.id:
                self.warnings.append(
                    Problem(
                        self.path,
                        message,
                        self.lines.key_line("address", device_index=first_index.get(device.id)),
                        device.id,
                        "address",
                    )
                )


def _source(stack: list[tuple[LayerName, dict[str, Any]]], names: tuple[str, ...]) -> LayerName:
    """The last layer that writes `names` (e.g. snmp.community); the device itself when only
    the built-in defaults do, or nobody (a missing value belongs to the device)."""
    if not names:
        return DEVICE
    for position in range(len(stack) - 1, -1, -1):
        layer: LayerName = stack[position][0]
        if _writes(stack[position][1], names):
            return layer
    return DEVICE


def _writes(values: Mapping[str, Any], names: tuple[str, ...]) -> bool:
    current: Any = values
    for name in names:
        if not isinstance(current, Mapping) or name not in current:
            return False
        current = current[name]
    return True


def _used_by(devices: list[str]) -> str:
    unique = list(dict.fromkeys(devices))
    if len(unique) == 1:
        return f"used by device {unique[0]!r}"
    shown = ", ".join(repr(d) for d in unique[:5])
    more = f" and {len(unique) - 5} more" if len(unique) > 5 else ""
    return f"used by {len(unique)} devices: {shown}{more}"


def _unknown_profile(profile: str, profiles: frozenset[str]) -> str:
    known = f"known: {', '.join(sorted(profiles))}"
    near = [p for p in sorted(profiles) if p.lower() == profile.lower()]
    return (
        f"unknown profile {profile!r} (did you mean {near[0]!r}?); {known}"
        if near
        else (f"unknown profile {profile!r}; {known}")
    )


def _parent_cycles(parents: Mapping[str, str | None]) -> Iterable[list[str]]:
    """Every parent cycle once, in one pass over the devices: each device is walked at most
    once, so a 5,000-deep chain costs what 5,000 flat devices do. Self-parents (cycles of one)
    are reported elsewhere."""
    done: set[str] = set()
    for start in parents:
        path: dict[str, int] = {}  # device -> position on the walk from `start`
        current: str | None = start
        while current is not None and current in parents and current not in done:
            if current in path:
                cycle = list(path)[path[current] :]
                if len(cycle) > 1:
                    yield cycle
                break
            path[current] = len(path)
            current = parents[current]
        done.update(path)


def _table_key_line(lines: SourceLines, location: list[str]) -> int | None:
    """Line of the last key in `location` (e.g. defaults.snmp.community), looked up under the
    deepest table header that exists: `[defaults.snmp]`, else `[defaults]` (inline tables).
    A whole table's problem (`defaults.thresholds.cpu`) is at its own header when it has one."""
    header = lines.table_line(".".join(location))
    if header is not None:
        return header
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


# tomllib's words for a string that runs to the end of its line or of the file
_UNCLOSED_STRING = re.compile(r"Illegal character '\\n'|Unterminated string|Expected \"'\"")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column \d+\)")


def _toml_problem(exc: tomllib.TOMLDecodeError, text: str, path: Path) -> Problem:
    message = str(exc)
    position = _TOML_POSITION.search(message)
    line = int(position.group(1)) if position else None
    message = _TOML_POSITION.sub("", message).strip()
    hint = ""
    if "Cannot declare" in message or "declared" in message.lower():
        hint = " (a table declared twice: for several devices write [[devices]], not [devices])"
    elif _UNCLOSED_STRING.search(message):
        hint = " (a string is not closed: add the closing quote)"
    elif "Invalid value" in message or "Expected" in message:
        hint = ' (strings must be quoted: address = "192.0.2.1")'
    return Problem(path, f"TOML syntax: {message}{hint}", line)
