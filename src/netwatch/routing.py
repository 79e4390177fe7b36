"""Where a device's pages go (pure): routing rules, the links in its trigger.

The first `[[paging.routes]]` rule whose conditions all match the device (site, any of its
tags, the alert's PagerDuty severity) decides its routing key and e-mail recipients; a
device no rule matches uses `[pagerduty] routing_key` and `[email] to`. Follow-ups of an
incident (re-sends, acknowledge, resolve) keep the routing key its trigger went with even
when the rules change: the outbox pins them (delivery/pending.py), because PagerDuty only
applies a follow-up under the routing key of the trigger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from netwatch.events import routing_key_fingerprint
from netwatch.inventory import DeviceConfig, Inventory
from netwatch.inventory.paging_schema import RouteRule

DRY_RUN_ROUTING_KEY = "dry-run"


@dataclass(frozen=True, slots=True)
class Route:
    label: str  # "rule 2", a rule's name, or "default": for logs (never the key)
    routing_key: str = field(repr=False)
    email_to: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.label} (key {routing_key_fingerprint(self.routing_key)})"


@dataclass(frozen=True, slots=True)
class PagingPlan:
    default: Route
    rules: tuple[tuple[RouteRule, Route], ...] = ()
    devices: Mapping[str, DeviceConfig] = field(default_factory=dict)
    device_url: str | None = None
    status_page_url: str | None = None
    ack_on_maintenance: bool = False

    def route_for(self, device_id: str, severity: str | None = None) -> Route:
        device = self.devices.get(device_id)
        for rule, route in self.rules:
            if rule_matches(rule, device, severity):
                return route
        return self.default

    def links_for(self, device_id: str) -> list[tuple[str, str]]:
        """(href, text) pairs for a trigger: the device's web UI, netwatch's status page."""
        links = []
        device = self.devices.get(device_id)
        if self.device_url is not None and device is not None:
            href = self.device_url.format(
                id=device.id, address=device.address, site=device.site or ""
            )
            # PagerDuty's schema types href as format "url", which refuses IPv6 literals even
            # in brackets (Prism: tests/test_events_prism.py): such devices get no UI link
            if ":" not in href.split("://", 1)[-1].split("/", 1)[0]:
                links.append((href, f"{device.name}: web UI"))
        if self.status_page_url is not None:
            links.append((self.status_page_url, "netwatch status page"))
        return links

    def routing_keys(self) -> list[str]:
        keys = [self.default.routing_key, *(route.routing_key for _, route in self.rules)]
        return list(dict.fromkeys(keys))


def rule_matches(rule: RouteRule, device: DeviceConfig | None, severity: str | None) -> bool:
    if rule.sites is not None and (device is None or device.site not in rule.sites):
        return False
    if rule.tags is not None and (device is None or not set(rule.tags) & set(device.tags)):
        return False
    # acknowledges and resolves carry no severity; the outbox pins them to the trigger's key
    return rule.severities is None or (severity is not None and severity in rule.severities)


def plan_for(inventory: Inventory) -> PagingPlan:
    default_key = inventory.routing_key.decode() if inventory.routing_key else DRY_RUN_ROUTING_KEY
    default_mail = tuple(inventory.email.to) if inventory.email is not None else ()
    rules: list[tuple[RouteRule, Route]] = []
    for index, rule in enumerate(inventory.paging.routes):
        key = inventory.route_keys[index] if index < len(inventory.route_keys) else None
        routing_key = key.decode() if key is not None else default_key
        email = tuple(rule.email) if rule.email is not None else default_mail
        rules.append((rule, Route(rule.name or f"rule {index + 1}", routing_key, email)))
    return PagingPlan(
        default=Route("default", default_key, default_mail),
        rules=tuple(rules),
        devices=inventory.by_id(),
        device_url=inventory.paging.device_url,
        status_page_url=inventory.http.status_page_url,
        ack_on_maintenance=inventory.paging.ack_on_maintenance,
    )


def simple_plan(routing_key: str) -> PagingPlan:
    """One routing key for every device, no links (tests, and the notifier's default)."""
    return PagingPlan(default=Route("default", routing_key))
