"""The inventory's shape. Layers (`[defaults]`, `[groups.NAME]`, a device) share one schema of
optional settings; after layering, the resolved device is validated against the full schema.

Every model forbids unknown keys: a misspelled `threshhold` is an error, never ignored.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    SecretBytes,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from netwatch.inventory.custom_metrics import CustomMetric, CustomMetricLayer, resolve_metrics
from netwatch.inventory.fields import Duration, PagerDutySeverity, StrictModel, secret_reference
from netwatch.inventory.paging_schema import EmailSection, PagingSection
from netwatch.inventory.windows import MaintenanceWindow

_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_DOTTED_NUMBERS = re.compile(r"^[0-9.]+$")
_NUMBER_LIKE = re.compile(r"^(?:0[xX][0-9A-Fa-f]*|[0-9]+)$")


def check_address(value: str) -> str:
    """An IPv4/IPv6 literal or a DNS name. Dotted numbers must be a valid IPv4 address:
    `999.999.999.999` and leading zeros (`192.0.2.012`, octal on some stacks) are rejected
    without any DNS lookup."""
    text = value.strip()
    if _DOTTED_NUMBERS.match(text):
        try:
            ipaddress.IPv4Address(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a valid IPv4 address") from None
        return text
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    name = text.removesuffix(".")
    if not name or len(name) > 253 or not all(_HOSTNAME_LABEL.match(p) for p in name.split(".")):
        raise ValueError(f"{value!r} is neither an IP address nor a valid DNS name")
    labels = name.split(".")
    # `0x7f.1`, `0177.0.0.1`: inet_aton would read these as 127.0.0.1; nobody means that.
    if all(_NUMBER_LIKE.match(label) for label in labels):
        raise ValueError(
            f"{value!r} looks like an IPv4 address in hex or short form; write four decimal"
            " numbers (a.b.c.d)"
        )
    if labels[-1].isdigit():
        raise ValueError(f"{value!r} is not a valid DNS name: its last label is all digits")
    return text


def _field_errors(model: str, problems: list[tuple[str, str]]) -> ValidationError:
    """Model-level checks reported against the fields they are about, so the inventory error
    names `snmp.auth_key` (and its line), not just `snmp`; every one of them at once."""
    details = [
        InitErrorDetails(
            type=PydanticCustomError("value_error", message), loc=(field_name,), input=None
        )
        for field_name, message in problems
    ]
    return ValidationError.from_exception_data(model, details)


class Threshold(StrictModel):
    """Levels in the unit people think in (%, °C, % loss, ms). `clear` is the hysteresis margin:
    a check raised at a level drops back only below (level - clear)."""

    warning: StrictFloat | None = None
    critical: StrictFloat | None = None
    clear: StrictFloat | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _warning_not_above_critical(self) -> Threshold:
        if self.warning is not None and self.critical is not None and self.warning > self.critical:
            raise ValueError(f"warning ({self.warning}) is above critical ({self.critical})")
        return self


class ThresholdsLayer(StrictModel):
    cpu: Threshold | None = None
    temperature: Threshold | None = None
    loss: Threshold | None = None
    rtt: Threshold | None = None


class SnmpLayer(StrictModel):
    version: Literal["1", "2c", "3"] | None = None
    port: StrictInt | None = Field(default=None, ge=1, le=65535)
    community: str | None = None
    user: str | None = None
    auth_protocol: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] | None = None
    auth_key: str | None = None
    priv_protocol: Literal["DES", "3DES", "AES", "AES192", "AES256"] | None = None
    priv_key: str | None = None
    timeout: Duration | None = None
    retries: StrictInt | None = Field(default=None, ge=0, le=10)


class PingLayer(StrictModel):
    count: StrictInt | None = Field(default=None, ge=1, le=100)
    interval: Duration | None = None
    timeout: Duration | None = None
    # Which addresses of a DNS name to ping: "any" tries them in resolver order (the last one
    # that answered first) and uses the first that answers.
    family: Literal["any", "ipv4", "ipv6"] | None = None


class SeverityLayer(StrictModel):
    """What PagerDuty severity each netwatch level is sent as."""

    warning: PagerDutySeverity | None = None
    critical: PagerDutySeverity | None = None


class FlappingLayer(StrictModel):
    """More than `changes` failing/OK changes within `window` marks a device flapping;
    `changes = 0` turns the detection off."""

    changes: StrictInt | None = Field(default=None, ge=0)
    window: Duration | None = None


class SettingsLayer(StrictModel):
    """Settings a device inherits from `[defaults]` and its group, and may override.
    `maintenance` windows add up across the layers instead of replacing each other."""

    profile: str | None = None
    site: str | None = None
    tags: list[str] | None = None
    enabled: StrictBool | None = None
    hold_down: Duration | None = None
    recovery: Duration | None = None
    hold_down_polls: StrictInt | None = Field(default=None, ge=1)
    recovery_polls: StrictInt | None = Field(default=None, ge=1)
    flapping: FlappingLayer | None = None
    maintenance: list[MaintenanceWindow] | None = None
    severity: SeverityLayer | None = None
    page_from: Literal["warning", "critical"] | None = None
    snmp_failure_level: Literal["warning", "critical"] | None = None
    # Off unless set: a device that rebooted less than this long ago fails its reboot check.
    reboot_alert: Duration | None = None
    snmp: SnmpLayer | None = None
    ping: PingLayer | None = None
    thresholds: ThresholdsLayer | None = None
    metrics: dict[str, CustomMetricLayer] | None = None


class DeviceEntry(SettingsLayer):
    id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@\-]*$")
    name: str | None = None
    # checked here too, so a bad address is reported even when the device's layers are broken
    address: Annotated[str, BeforeValidator(check_address)]
    parent: str | None = None
    group: str | None = None
    # Shorthand for [devices.snmp] port, for the common case of one agent on a forwarded port.
    snmp_port: StrictInt | None = Field(default=None, ge=1, le=65535)


class PagerDutySection(StrictModel):
    routing_key: str | None = None
    events_url: str = "https://events.pagerduty.com/v2/enqueue"
    resend_interval: Duration = 60.0
    # PagerDuty throttles ~120/min per routing key; staying below it avoids 429 storms
    events_per_minute: StrictInt = Field(default=100, ge=1, le=120)
    # delivery failing this long: logged at error, health degraded, fallback channel used
    failing_threshold: Duration = 300.0

    @field_validator("routing_key")
    @classmethod
    def _key_is_a_reference(cls, routing_key: str | None) -> str | None:
        if routing_key is not None and not routing_key.startswith(("env:", "file:")):
            raise ValueError(
                "routing_key must be a reference (env:NAME or file:PATH); "
                "never put the key itself in the inventory"
            )
        return routing_key


class PagerDutyRestSection(StrictModel):
    """The REST API (who is on call) and the V3 webhooks PagerDuty sends us."""

    api_token: str | None = None
    api_url: str = "https://api.pagerduty.com"
    oncall_cache: Duration = 300.0
    webhook_secrets: list[str] = Field(default_factory=list)

    @field_validator("api_token")
    @classmethod
    def _token_is_a_reference(cls, api_token: str | None) -> str | None:
        return None if api_token is None else secret_reference("api_token", api_token)

    @field_validator("webhook_secrets")
    @classmethod
    def _secrets_are_references(cls, secrets: list[str]) -> list[str]:
        return [secret_reference("webhook_secrets", s) for s in secrets]


class HttpSection(StrictModel):
    """The daemon's own web server: health, metrics, JSON status, NOC page, webhooks."""

    enabled: StrictBool = True
    listen: str = "127.0.0.1"
    port: StrictInt = Field(default=8080, ge=0, le=65535)
    status_page_url: str | None = None  # how people reach the NOC page (for links)


MAX_POLL_WORKERS = 64


class NetwatchSection(StrictModel):
    interval: Duration = 60.0
    max_concurrent_polls: StrictInt = Field(default=1000, ge=1)
    # how long a DNS name's addresses are reused before asking again
    dns_cache: Duration = 300.0
    # the SQLite store (alert state, outbox, ...); relative paths are beside the inventory
    state_db: str = "netwatch-state.db"
    # processes that poll (netwatch.workers): "auto" decides by the inventory's size, 1 polls
    # in the daemon itself
    poll_workers: int | Literal["auto"] = "auto"

    @field_validator("poll_workers", mode="before")
    @classmethod
    def _workers_auto_or_count(cls, value: object) -> int | str:
        if value == "auto":
            return "auto"
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and 1 <= value <= MAX_POLL_WORKERS
        ):
            return value
        raise ValueError(f'must be "auto" or a whole number from 1 to {MAX_POLL_WORKERS}')


class InventoryFile(StrictModel):
    netwatch: NetwatchSection = NetwatchSection()
    pagerduty: PagerDutySection = PagerDutySection()
    pagerduty_rest: PagerDutyRestSection = PagerDutyRestSection()
    http: HttpSection = HttpSection()
    paging: PagingSection = PagingSection()
    email: EmailSection | None = None
    defaults: SettingsLayer = SettingsLayer()
    groups: dict[str, SettingsLayer] = Field(default_factory=dict)
    devices: list[dict[str, Any]] = Field(default_factory=list)


# ---- the resolved view: what the rest of netwatch uses ---------------------------------------

BUILTIN_DEFAULTS: dict[str, Any] = {
    "profile": "host-resources",
    "enabled": True,
    "tags": [],
    "hold_down": 120.0,
    "recovery": 120.0,
    "flapping": {"changes": 5, "window": 3600.0},
    "severity": {"warning": "warning", "critical": "critical"},
    "page_from": "warning",
    "snmp_failure_level": "warning",
    "snmp": {"version": "2c", "port": 161, "timeout": 2.0, "retries": 1},
    "ping": {"count": 3, "interval": 0.2, "timeout": 1.0},
    "thresholds": {
        "cpu": {"warning": 80.0, "critical": 90.0, "clear": 5.0},
        "temperature": {"warning": 70.0, "critical": 80.0, "clear": 3.0},
        # One dropped echo out of three (33 %) from a router that polices ICMP is not an outage.
        "loss": {"warning": 50.0, "critical": 100.0, "clear": 0.0},
        "rtt": {"clear": 0.0},
    },
}


class Thresholds(StrictModel):
    cpu: Threshold
    temperature: Threshold
    loss: Threshold
    rtt: Threshold


USM_KEY_FIELDS = ("auth_key", "priv_key")


def short_usm_key(field_name: str, key: bytes) -> str | None:
    # RFC 3414: USM passphrases shorter than 8 octets are refused by agents.
    return f"{field_name} is shorter than 8 characters" if len(key) < 8 else None


class SnmpSettings(StrictModel):
    version: Literal["1", "2c", "3"]
    port: StrictInt = Field(ge=1, le=65535)
    community: SecretBytes | None = None
    user: str | None = None
    auth_protocol: Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"] | None = None
    auth_key: SecretBytes | None = None
    priv_protocol: Literal["DES", "3DES", "AES", "AES192", "AES256"] | None = None
    priv_key: SecretBytes | None = None
    timeout: Duration
    retries: StrictInt = Field(ge=0, le=10)

    @model_validator(mode="after")
    def _credentials_fit_version(self) -> SnmpSettings:
        problems: list[tuple[str, str]] = []
        if self.version in ("1", "2c"):
            if self.community is None:
                problems.append(("community", f"SNMP v{self.version} needs a community"))
        else:
            if not self.user:
                problems.append(("user", "SNMP v3 needs a user"))
            if self.auth_protocol and not self.auth_key:
                problems.append(("auth_key", "auth_protocol is set but auth_key is missing"))
            if self.priv_protocol and not self.priv_key:
                problems.append(("priv_key", "priv_protocol is set but priv_key is missing"))
            if self.priv_protocol and not self.auth_protocol:
                problems.append(
                    ("auth_protocol", "priv_protocol needs an auth_protocol (authPriv)")
                )
            for field_name in USM_KEY_FIELDS:
                key = getattr(self, field_name)
                short = None if key is None else short_usm_key(field_name, key.get_secret_value())
                if short is not None:
                    problems.append((field_name, short))
        if problems:
            raise _field_errors("SnmpSettings", problems)
        return self


class FlappingSettings(StrictModel):
    changes: StrictInt = Field(ge=0)
    window: Duration


class SeveritySettings(StrictModel):
    warning: PagerDutySeverity
    critical: PagerDutySeverity


class PingSettings(StrictModel):
    count: StrictInt = Field(ge=1, le=100)
    interval: Duration
    timeout: Duration
    family: Literal["any", "ipv4", "ipv6"] = "any"


class DeviceConfig(StrictModel):
    """One device with every setting resolved through the layers."""

    id: str
    name: str
    address: Annotated[str, BeforeValidator(check_address)]
    parent: str | None = None
    group: str | None = None
    site: str | None = None
    tags: tuple[str, ...] = ()
    enabled: StrictBool
    profile: str
    hold_down: Duration
    recovery: Duration
    # A count of consecutive polls, when set, replaces the hold_down/recovery duration.
    hold_down_polls: StrictInt | None = Field(default=None, ge=1)
    recovery_polls: StrictInt | None = Field(default=None, ge=1)
    flapping: FlappingSettings
    maintenance: tuple[MaintenanceWindow, ...] = ()
    severity: SeveritySettings
    page_from: Literal["warning", "critical"]
    snmp_failure_level: Literal["warning", "critical"]
    reboot_alert: Duration | None = None
    snmp: SnmpSettings | None
    ping: PingSettings
    thresholds: Thresholds
    # Custom SNMP checks (custom_metrics.py), in inventory order.
    metrics: Annotated[tuple[CustomMetric, ...], BeforeValidator(resolve_metrics)] = ()

    @property
    def uses_snmp(self) -> bool:
        return self.profile != "ping-only" and self.snmp is not None
