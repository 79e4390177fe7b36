"""Pages as e-mail (pure): which events are worth a mail, and the messages themselves.

A mail goes out for news only: a first trigger or a change of severity, an acknowledge, a
resolve. The once-a-minute re-sends of an unchanged incident are never mailed, and the same
news is never mailed twice, whether it came through the e-mail channel (`always`) or the
fallback while PagerDuty fails. Batching: everything that is waiting when the mail task
sends goes into one message per recipient list, so a backlog of 150 pages at the moment
PagerDuty is declared unreachable is one mail, and pages that come in one by one afterwards
are one mail each. Routing keys never appear in a mail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal

from netwatch.events import DEDUP_KEY_PREFIX, Event

Why = Literal["channel", "fallback"]
SUBJECT_MAX_CHARS = 200
_POLICY = policy.default.clone(max_line_length=998)


@dataclass(frozen=True, slots=True)
class MailItem:
    event: Event
    recipients: tuple[str, ...]
    why: Why
    row: int | None = None  # its row in the store; None while it is in memory only


@dataclass(frozen=True, slots=True)
class RecoveryNotice:
    """The "PagerDuty reachable again" mail, kept as what it says so a restart can send it."""

    recipients: tuple[str, ...]
    pending: int
    at: float
    row: int | None = None  # as MailItem.row


@dataclass(frozen=True, slots=True)
class KeyNews:
    """What has been mailed for one dedup key."""

    open: bool = False  # a trigger was mailed and no resolve since
    severity: str | None = None  # the mailed trigger's, while open
    acknowledged: bool = False
    resolved: bool = False


class MailNews:
    """What was last mailed per dedup key, so each piece of news is mailed once. `known`: what
    a previous run mailed (from the store), so a restart neither repeats nor misses news."""

    def __init__(self, known: Mapping[str, KeyNews] | None = None) -> None:
        self._keys: dict[str, KeyNews] = dict(known or {})

    def is_news(self, event: Event) -> bool:
        key, action = str(event.get("dedup_key")), event.get("event_action")
        news = self._keys.get(key, KeyNews())
        if action == "trigger":
            return not news.open or news.severity != _severity(event)
        if action == "acknowledge":
            return not news.acknowledged
        return not news.resolved

    def mailed(self, event: Event) -> tuple[str, KeyNews]:
        """Take the event as mailed: its dedup key and what is known of that key now."""
        key, action = str(event.get("dedup_key")), event.get("event_action")
        news = self._keys.get(key, KeyNews())
        if action == "trigger":
            news = replace(news, open=True, severity=_severity(event), resolved=False)
        elif action == "acknowledge":
            news = replace(news, acknowledged=True)
        else:
            news = KeyNews(resolved=True)
        self._keys[key] = news
        return key, news


@dataclass(frozen=True)
class SavedMail:
    """What a previous run left: pages and notices not yet mailed (oldest first, each with
    its row), and what was mailed per dedup key."""

    items: list[MailItem]
    notices: list[RecoveryNotice]
    news: dict[str, KeyNews]


@dataclass(frozen=True, slots=True)
class Batch:
    """One message and what it carries: the SMTP server takes all of it or none."""

    recipients: tuple[str, ...]
    items: tuple[MailItem, ...] = ()
    notice: RecoveryNotice | None = None

    def message(self, *, sender: str, now: float) -> EmailMessage:
        if self.notice is not None:
            notice = self.notice
            return recovery_message(
                sender=sender, recipients=notice.recipients, pending=notice.pending, now=notice.at
            )
        return page_message(self.items, sender=sender, recipients=self.recipients, now=now)


def batches(notices: Sequence[RecoveryNotice], items: Sequence[MailItem]) -> list[Batch]:
    """Everything waiting, as messages: each notice alone, then one message per recipient
    list (in the order the lists first appear) with its items in the order they came."""
    groups: dict[tuple[str, ...], list[MailItem]] = {}
    for item in items:
        groups.setdefault(item.recipients, []).append(item)
    return [Batch(notice.recipients, notice=notice) for notice in notices] + [
        Batch(to, tuple(grouped)) for to, grouped in groups.items()
    ]


def page_line(event: Event) -> str:
    """`TRIGGER critical core-1: <summary>`, `RESOLVED core-1`, `ACKNOWLEDGED core-1: …`."""
    action = str(event.get("event_action", "?"))
    device = str(event.get("dedup_key", "?")).removeprefix(DEDUP_KEY_PREFIX)
    payload: dict[str, Any] = event.get("payload") or {}
    if action == "trigger":
        return f"TRIGGER {payload.get('severity', '?')} {device}: {payload.get('summary', '')}"
    if action == "acknowledge":
        return f"ACKNOWLEDGED {device}: {payload.get('summary', '')}"
    return f"RESOLVED {device}"


def page_message(
    items: Sequence[MailItem], *, sender: str, recipients: Sequence[str], now: float
) -> EmailMessage:
    fallback = any(item.why == "fallback" for item in items)
    lines = [page_line(item.event) for item in items]
    subject = f"[netwatch] {lines[0]}" if len(items) == 1 else f"[netwatch] {len(items)} pages"
    if fallback:
        subject += " (PagerDuty unreachable)"
    body = []
    if fallback:
        body += [
            "PagerDuty has not accepted netwatch's events for longer than the configured",
            "threshold. These pages are mailed instead; netwatch keeps retrying PagerDuty.",
            "",
        ]
    for item in items:
        body.append(page_line(item.event))
        for link in item.event.get("links") or []:
            body.append(f"    {link.get('text', '')}: {link.get('href', '')}")
        details = (item.event.get("payload") or {}).get("custom_details") or {}
        if details.get("failing_since"):
            body.append(f"    failing since {details['failing_since']}")
    return _message(subject, "\n".join(body) + "\n", sender, recipients, now)


def recovery_message(
    *, sender: str, recipients: Sequence[str], pending: int, now: float
) -> EmailMessage:
    body = (
        "PagerDuty accepts netwatch's events again. Paging goes through PagerDuty from now on;"
        f" {pending} event(s) still waiting are being delivered there.\n"
    )
    return _message("[netwatch] PagerDuty reachable again", body, sender, recipients, now)


def _message(
    subject: str, body: str, sender: str, recipients: Sequence[str], now: float
) -> EmailMessage:
    # no folding of the subject: a fold next to an encoded word (≥, °C) reads back with an
    # extra space in some clients; long summaries are cut instead. Line breaks (an ack note,
    # a sensor name from the agent) make the header unwritable: they become spaces.
    subject = " ".join(part.strip() for part in subject.splitlines() if part.strip())
    message = EmailMessage(policy=_POLICY)
    message["Subject"] = (
        subject if len(subject) <= SUBJECT_MAX_CHARS else subject[: SUBJECT_MAX_CHARS - 1] + "…"
    )
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(now, localtime=False)
    message["Message-ID"] = make_msgid(domain="netwatch")
    message.set_content(body)
    return message


def _severity(event: Event) -> str | None:
    payload = event.get("payload") or {}
    severity = payload.get("severity")
    return None if severity is None else str(severity)
