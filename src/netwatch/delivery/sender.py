"""Deliver events to the PagerDuty Events API v2, retrying until PagerDuty has them."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

import httpx
import trio

from netwatch.delivery.pending import PendingEvents
from netwatch.delivery.retry import Decision, RetryPolicy, classify, retry_after_seconds
from netwatch.events import Event, event_bytes

log = logging.getLogger("netwatch.delivery")

DEFAULT_EVENTS_URL: Final = "https://events.pagerduty.com/v2/enqueue"
EU_EVENTS_URL: Final = "https://events.eu.pagerduty.com/v2/enqueue"
REDACTED: Final = "<routing-key>"


@dataclass(frozen=True, slots=True)
class RejectedEvent:
    """An event PagerDuty refused (or that could not be sent), kept for inspection.

    `event` has its routing key replaced by a placeholder.
    """

    event: Event
    status_code: int | None
    errors: tuple[str, ...]
    reason: str


class EventsApiSender:
    """The one task that talks to the Events API: submit() queues, run() delivers.

    While PagerDuty is down or throttling, events wait (newest per dedup_key) and are
    retried with backoff for as long as it takes; only events PagerDuty rejects as invalid
    (400 and the like) are dropped, logged with PagerDuty's `errors`, passed to `on_alarm`
    and kept in `rejected`.
    """

    def __init__(
        self,
        *,
        url: str = DEFAULT_EVENTS_URL,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        known_open: Iterable[str] = (),
        on_alarm: Callable[[RejectedEvent], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._url = url
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._pending = PendingEvents(known_open)
        self._on_alarm = on_alarm
        self._transport = transport
        self._rand = rand
        self._wake = trio.Event()
        self._failures = 0
        self.rejected: list[RejectedEvent] = []

    def submit(self, event: Event) -> None:
        """Queue an event; never blocks, never waits for PagerDuty."""
        self._pending.submit(event)
        self._wake.set()

    def pending(self) -> int:
        """Dedup keys with an event PagerDuty has not accepted yet (including one in flight)."""
        return len(self._pending)

    def is_open(self, dedup_key: str) -> bool:
        """Whether PagerDuty accepted a trigger for this key and no resolve since."""
        return self._pending.is_open(dedup_key)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
            task_status.started()
            while True:
                event = self._pending.take()
                if event is None:
                    self._wake = trio.Event()
                    await self._wake.wait()
                    continue
                try:
                    delay = await self._deliver(client, event)
                except BaseException:
                    self._pending.finish(event, Decision.RETRY)
                    raise
                if delay is not None:
                    await trio.sleep(delay)

    async def _deliver(self, client: httpx.AsyncClient, event: Event) -> float | None:
        """Send one event and record the outcome; the seconds to wait before the next."""
        try:
            response = await client.post(
                self._url,
                content=event_bytes(event),
                headers={"Content-Type": "application/json"},
            )
        except Exception as exc:
            return self._after(event, classify(exc), None, _describe_exception(exc))
        return self._after(
            event, classify(response.status_code), response, f"HTTP {response.status_code}"
        )

    def _after(
        self, event: Event, decision: Decision, response: httpx.Response | None, reason: str
    ) -> float | None:
        self._pending.finish(event, decision)
        secret = str(event.get("routing_key", ""))
        action, key = event["event_action"], event["dedup_key"]
        if decision is Decision.DONE:
            self._failures = 0
            log.debug("PagerDuty accepted the %s for %s", action, key)
            return None
        if decision is Decision.DROP_AND_ALARM:
            self._reject(event, response, _redact(reason, secret))
            return None
        self._failures += 1
        retry_after = None
        if response is not None:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"), now=time.time())
        delay = self._retry.delay(self._failures, retry_after=retry_after, rand=self._rand())
        log.warning(
            "PagerDuty did not take the %s for %s (%s); retrying in %.1f s, %d pending",
            action,
            key,
            _redact(reason, secret),
            delay,
            self.pending(),
        )
        return delay

    def _reject(self, event: Event, response: httpx.Response | None, reason: str) -> None:
        secret = str(event.get("routing_key", ""))
        errors = tuple(_redact(error, secret) for error in _errors_of(response))
        rejected = RejectedEvent(
            event={**event, "routing_key": REDACTED},
            status_code=response.status_code if response is not None else None,
            errors=errors,
            reason=reason,
        )
        self.rejected.append(rejected)
        log.error(
            "PagerDuty rejected the %s for %s (%s): %s; dropped, kept for inspection",
            event["event_action"],
            event["dedup_key"],
            reason,
            "; ".join(errors) or "no errors given",
        )
        if self._on_alarm is not None:
            self._on_alarm(rejected)


def _errors_of(response: httpx.Response | None) -> list[str]:
    if response is None:
        return []
    try:
        body: Any = response.json()
    except ValueError:
        return [response.text[:500]] if response.text else []
    if not isinstance(body, dict):
        return []
    errors = body.get("errors")
    described = [str(body[field]) for field in ("status", "message") if body.get(field)]
    if isinstance(errors, list):
        described += [str(error) for error in errors]
    return described


def _describe_exception(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, REDACTED) if secret else text
