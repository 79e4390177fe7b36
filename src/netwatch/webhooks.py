"""PagerDuty Webhooks V3, the pure part: signature check and what an event says.

netwatch only records who did what to which incident; it never changes alert state from a
webhook (netwatch stays the master of whether a device is in trouble).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from netwatch.oncall import parse_time

SIGNATURE_HEADER = "x-pagerduty-signature"
WEBHOOK_ID_HEADER = "x-webhook-id"
MAX_BODY_BYTES = 1_000_000

# What each incident event means for the people looking at the NOC page.
ACTIONS = {
    "incident.triggered": "triggered",
    "incident.acknowledged": "acknowledged",
    "incident.unacknowledged": "unacknowledged",
    "incident.resolved": "resolved",
    "incident.reopened": "reopened",
    "incident.reassigned": "reassigned",
    "incident.escalated": "escalated",
    "incident.delegated": "delegated",
    "incident.annotated": "annotated",
    "incident.priority_updated": "priority updated",
}


class WebhookFormatError(ValueError):
    pass


def signature_entries(header: str | None) -> list[str]:
    """The hex digests of every `v1=` entry (several while a secret is being rotated)."""
    if not header:
        return []
    entries = []
    for part in header.split(","):
        scheme, _, digest = part.strip().partition("=")
        if scheme == "v1" and digest:
            entries.append(digest.lower())
    return entries


def signature_valid(body: bytes, header: str | None, secrets: Iterable[bytes]) -> bool:
    """Whether any `v1=` entry is the HMAC-SHA256 of the raw body under any secret. Every
    pair is compared in constant time, and all pairs are compared."""
    entries = [e.encode("ascii", "replace") for e in signature_entries(header)]
    valid = False
    for secret in secrets:
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
        for entry in entries:
            valid |= hmac.compare_digest(expected, entry)
    return valid


def sign(body: bytes, secret: bytes) -> str:
    """The header value PagerDuty would send for this body (used by tests and tools)."""
    return "v1=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class IncidentActivity:
    """One thing a person (or PagerDuty's automation, `agent` None) did to an incident."""

    event_id: str
    event_type: str
    action: str
    occurred_at: float
    incident_id: str
    incident_number: int | None
    incident_key: str | None
    incident_status: str | None
    incident_title: str | None
    html_url: str | None
    agent: str | None
    assignees: tuple[str, ...]


def _summary(ref: Any) -> str | None:
    if not isinstance(ref, dict):
        return None
    value = ref.get("summary") or ref.get("name") or ref.get("id")
    return str(value) if value is not None else None


def parse_event(body: bytes) -> IncidentActivity | None:
    """The incident activity in a webhook body; None for events about other resources.
    Raises WebhookFormatError when the body is not a V3 webhook."""
    try:
        document = json.loads(body)
        event = document["event"]
        event_type = str(event["event_type"])
        event_id = str(event["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise WebhookFormatError(f"not a PagerDuty V3 webhook: {exc!r}") from None
    if not event_type.startswith("incident.") or event.get("resource_type") != "incident":
        return None
    data = event.get("data")
    if not isinstance(data, dict) or not data.get("id"):
        raise WebhookFormatError("incident webhook without data.id")
    try:
        occurred_at = parse_time(event.get("occurred_at"))
    except ValueError:
        raise WebhookFormatError("occurred_at is not an ISO 8601 time") from None
    if occurred_at is None:
        raise WebhookFormatError("incident webhook without occurred_at")
    assignees = data.get("assignees") or []
    number = data.get("number")
    return IncidentActivity(
        event_id=event_id,
        event_type=event_type,
        action=ACTIONS.get(event_type, event_type.removeprefix("incident.")),
        occurred_at=occurred_at,
        incident_id=str(data["id"]),
        incident_number=number if isinstance(number, int) else None,
        incident_key=str(data["incident_key"]) if data.get("incident_key") else None,
        incident_status=str(data["status"]) if data.get("status") else None,
        incident_title=str(data["title"]) if data.get("title") else None,
        html_url=str(data["html_url"]) if data.get("html_url") else None,
        agent=_summary(event.get("agent")),
        assignees=tuple(
            s for s in (_summary(a) for a in assignees if isinstance(a, dict)) if s is not None
        ),
    )
