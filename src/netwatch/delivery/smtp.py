"""The e-mail channel: pages by SMTP (stdlib smtplib in a worker thread; aiosmtplib is
asyncio-only). STARTTLS, implicit TLS or plain, with AUTH when a username is configured.
The password is never logged: errors are described by their type and SMTP code only."""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal

import trio

from netwatch.delivery.mail import MailItem, MailNews, Why, page_message, recovery_message
from netwatch.events import Event

log = logging.getLogger("netwatch.delivery.email")

RETRY_INITIAL = 5.0
RETRY_MAX = 300.0


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: Literal["starttls", "tls", "none"]
    sender: str
    username: str | None = None
    password: bytes | None = field(default=None, repr=False)
    timeout: float = 20.0
    # tests trust their self-signed certificate; real servers use the system store
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)


def send_blocking(config: SmtpConfig, message: EmailMessage) -> None:
    """One SMTP session delivering one message (runs in a worker thread)."""
    context = config.tls_context or ssl.create_default_context()
    client: smtplib.SMTP
    if config.security == "tls":
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    with client:
        client.ehlo()
        if config.security == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if config.username is not None:
            password = (config.password or b"").decode("utf-8", errors="surrogateescape")
            client.login(config.username, password)
        client.send_message(message)


def describe_smtp_error(exc: BaseException) -> str:
    """What went wrong, without anything the server echoed back (it may echo credentials)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} (SMTP {exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"recipients refused: {', '.join(sorted(exc.recipients))}"
    return type(exc).__name__


class MailChannel:
    """Queues pages as mail and sends them from its own task, retrying on SMTP failure.

    `page()` is the e-mail channel in its own right (with `[email] always`); `fallback()` and
    `recovered()` are the EventsApiSender's `on_degraded`/`on_recovered` hooks.
    """

    def __init__(
        self,
        config: SmtpConfig,
        *,
        recipients_for: Callable[[Event], Sequence[str]],
        fallback_recipients: Sequence[str],
        send: Callable[[SmtpConfig, EmailMessage], None] = send_blocking,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._recipients_for = recipients_for
        self._fallback_recipients = tuple(fallback_recipients)
        self._pending: Callable[[], int] = lambda: 0
        self._send = send
        self._wall_clock = wall_clock
        self._news = MailNews()
        self._queue: list[MailItem] = []
        self._notices: list[EmailMessage] = []
        self._fallback_to: set[str] = set()
        self._wake = trio.Event()
        self.sent: list[EmailMessage] = []

    def set_pending_source(self, pending: Callable[[], int]) -> None:
        """Where the recovery mail reads how many events are still waiting for PagerDuty."""
        self._pending = pending

    def page(self, event: Event) -> None:
        self._offer(event, "channel")

    def fallback(self, events: Sequence[Event]) -> None:
        for event in events:
            self._offer(event, "fallback")

    def recovered(self) -> None:
        recipients = sorted(self._fallback_to) or list(self._fallback_recipients)
        self._fallback_to.clear()
        self._notices.append(
            recovery_message(
                sender=self._config.sender,
                recipients=recipients,
                pending=self._pending(),
                now=self._wall_clock(),
            )
        )
        self._wake.set()

    def waiting(self) -> int:
        return len(self._queue) + len(self._notices)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        delay = RETRY_INITIAL
        while True:
            if not self._queue and not self._notices:
                self._wake = trio.Event()
                await self._wake.wait()
            outgoing: list[tuple[EmailMessage, list[MailItem]]] = [
                (notice, []) for notice in self._notices
            ] + self._batch()
            self._notices, self._queue = [], []
            for index, (message, _items) in enumerate(outgoing):
                try:
                    # abandoned on cancel: a silent server would otherwise hold a SIGTERM
                    # for smtplib's whole timeout (the daemon promises to stop within 2 s)
                    await trio.to_thread.run_sync(
                        self._send, self._config, message, abandon_on_cancel=True
                    )
                except (OSError, smtplib.SMTPException) as exc:
                    log.error(
                        "could not mail %s:%d: %s; retrying in %.0f s",
                        self._config.host,
                        self._config.port,
                        describe_smtp_error(exc),
                        delay,
                    )
                    unsent = outgoing[index:]
                    self._notices = [m for m, its in unsent if not its] + self._notices
                    self._queue = [i for _, its in unsent for i in its] + self._queue
                    await trio.sleep(delay)
                    delay = min(delay * 2, RETRY_MAX)
                    break
                self.sent.append(message)
                log.info("mailed %r to %s", message["Subject"], message["To"])
            else:
                delay = RETRY_INITIAL

    def _offer(self, event: Event, why: Why) -> None:
        if not self._news.is_news(event):
            return
        recipients = tuple(self._recipients_for(event))
        if why == "fallback":
            self._fallback_to.update(recipients)
        self._news.mailed(event)
        self._queue.append(MailItem(event, recipients, why))
        self._wake.set()

    def _batch(self) -> list[tuple[EmailMessage, list[MailItem]]]:
        """One message per recipient list for everything queued now."""
        groups: dict[tuple[str, ...], list[MailItem]] = {}
        for item in self._queue:
            groups.setdefault(item.recipients, []).append(item)
        now = self._wall_clock()
        return [
            (page_message(items, sender=self._config.sender, recipients=to, now=now), items)
            for to, items in groups.items()
        ]
