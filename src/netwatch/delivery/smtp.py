"""The e-mail channel: pages by SMTP (stdlib smtplib in a worker thread; aiosmtplib is
asyncio-only). STARTTLS, implicit TLS or plain, with AUTH when a username is configured.
The password is never logged: errors are described by their type and SMTP code only."""

from __future__ import annotations

import logging
import smtplib
import sqlite3
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from typing import Literal, Protocol, TypeVar

import trio

from netwatch.delivery.mail import (
    Batch,
    KeyNews,
    MailItem,
    MailNews,
    RecoveryNotice,
    SavedMail,
    Why,
    batches,
)
from netwatch.events import Event

log = logging.getLogger("netwatch.delivery.email")

RETRY_INITIAL = 5.0
RETRY_MAX = 300.0
_T = TypeVar("_T")
IN_MEMORY_ONLY = "kept in memory only: a restart before it is mailed loses it"


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


class MailJournal(Protocol):
    """Where the channel keeps what must survive a restart (store/mail_queue.py)."""

    def queue_item(self, item: MailItem, dedup_key: str, news: KeyNews) -> int: ...

    def queue_notice(self, notice: RecoveryNotice) -> int: ...

    def remove(self, batch: Batch) -> None: ...

    def remember(self, dedup_key: str, news: KeyNews) -> None: ...

    def load(self) -> SavedMail: ...


class MailChannel:
    """Queues pages as mail and sends them from its own task, retrying on SMTP failure.

    `page()` is the e-mail channel in its own right (with `[email] always`); `fallback()` and
    `recovered()` are the EventsApiSender's `on_degraded`/`on_recovered` hooks. With a
    journal, every page is written there when queued and removed once the SMTP server
    accepted the message carrying it, and what was mailed is remembered with it: a restart
    sends what was waiting and mails no news twice. A journal that cannot be written is
    logged and the page stays queued in memory.
    """

    def __init__(
        self,
        config: SmtpConfig,
        *,
        recipients_for: Callable[[Event], Sequence[str]],
        fallback_recipients: Sequence[str],
        send: Callable[[SmtpConfig, EmailMessage], None] = send_blocking,
        wall_clock: Callable[[], float] = time.time,
        journal: MailJournal | None = None,
    ) -> None:
        self._config = config
        self._recipients_for = recipients_for
        self._fallback_recipients = tuple(fallback_recipients)
        self._pending: Callable[[], int] = lambda: 0
        self._send = send
        self._wall_clock = wall_clock
        self._journal = journal
        saved = journal.load() if journal is not None else None
        self._news = MailNews(saved.news if saved is not None else None)
        self._queue: list[MailItem] = list(saved.items) if saved is not None else []
        self._notices: list[RecoveryNotice] = list(saved.notices) if saved is not None else []
        self._fallback_to: set[str] = set()
        self._wake = trio.Event()
        if self._queue or self._notices:
            log.info(
                "mail queue: %d page(s) and %d notice(s) restored, to be mailed",
                len(self._queue),
                len(self._notices),
            )

    def set_pending_source(self, pending: Callable[[], int]) -> None:
        """Where the recovery mail reads how many events are still waiting for PagerDuty."""
        self._pending = pending

    def page(self, event: Event) -> None:
        self._offer(event, "channel")

    def fallback(self, events: Sequence[Event]) -> None:
        for event in events:
            self._offer(event, "fallback")

    def delivered(self, event: Event) -> None:
        """PagerDuty took this event: its news reached people, so the fallback does not mail
        it again, and the key's next incident is news (a resolve it took ends the incident)."""
        if not self._news.is_news(event):
            return
        key, news = self._news.mailed(event)
        self._journaled(lambda j: j.remember(key, news), if_lost="known until a restart")

    def recovered(self) -> None:
        recipients = sorted(self._fallback_to) or list(self._fallback_recipients)
        self._fallback_to.clear()
        notice = RecoveryNotice(tuple(recipients), self._pending(), self._wall_clock())
        row = self._journaled(lambda j: j.queue_notice(notice), if_lost=IN_MEMORY_ONLY)
        self._notices.append(replace(notice, row=row))
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
            outgoing = batches(self._notices, self._queue)
            self._notices, self._queue = [], []
            now = self._wall_clock()
            unsent: list[Batch] = []
            for index, batch in enumerate(outgoing):
                message = batch.message(sender=self._config.sender, now=now)
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
                    if isinstance(exc, smtplib.SMTPRecipientsRefused):
                        unsent.append(batch)  # these recipients only: the others' mail goes on
                        continue
                    unsent += outgoing[index:]
                    break
                log.info("mailed %r to %s", message["Subject"], message["To"])
                self._forget(batch)
            if unsent:
                self._notices = [b.notice for b in unsent if b.notice] + self._notices
                self._queue = [i for b in unsent for i in b.items] + self._queue
                await trio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
            else:
                delay = RETRY_INITIAL

    def _offer(self, event: Event, why: Why) -> None:
        if not self._news.is_news(event):
            return
        recipients = tuple(self._recipients_for(event))
        if why == "fallback":
            self._fallback_to.update(recipients)
        key, news = self._news.mailed(event)
        item = MailItem(event, recipients, why)
        row = self._journaled(lambda j: j.queue_item(item, key, news), if_lost=IN_MEMORY_ONLY)
        self._queue.append(replace(item, row=row))
        self._wake.set()

    def _forget(self, mailed: Batch) -> None:
        self._journaled(lambda j: j.remove(mailed), if_lost="a restart mails it again")

    def _journaled(self, write: Callable[[MailJournal], _T], if_lost: str) -> _T | None:
        if self._journal is None:
            return None
        try:
            return write(self._journal)
        except sqlite3.Error as exc:
            # paging matters more than remembering: the mail goes on from memory regardless
            log.error("mail queue: could not write to the store (%s); %s", exc, if_lost)
            return None
