"""Deliver events to the PagerDuty Events API v2, retrying until PagerDuty has them."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Protocol

import httpx
import trio

from netwatch.delivery.budget import DEFAULT_EVENTS_PER_MINUTE, DEFAULT_WINDOW_SECONDS, RateBudget
from netwatch.delivery.pending import KeyRecord, PendingEvents
from netwatch.delivery.retry import (
    Decision,
    RetryPolicy,
    classify,
    may_have_arrived,
    retry_after_seconds,
)
from netwatch.events import DEDUP_KEY_PREFIX, Event, event_bytes

log = logging.getLogger("netwatch.delivery")

DEFAULT_EVENTS_URL: Final = "https://events.pagerduty.com/v2/enqueue"
# one exchange (connect, send, the whole answer) may take this many per-operation timeouts
WHOLE_EXCHANGE_TIMEOUTS: Final = 3
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


class Journal(Protocol):
    """Where the sender keeps what must survive a restart (store/outbox.py's DurableOutbox)."""

    def save(self, record: KeyRecord) -> None: ...

    def load(self) -> list[KeyRecord]: ...

    def reject(
        self,
        event: Event,
        status_code: int | None,
        reason: str,
        errors: Iterable[str],
        now: float,
    ) -> None: ...

    def take_requests(self) -> list[Event]: ...


@dataclass(frozen=True, slots=True)
class DeliveryHealth:
    """What /readyz and `netwatch` status show about paging (no secrets in it)."""

    healthy: bool
    failing_since: float | None  # wall clock of the first failure since the last success
    pending: int
    oldest_pending_since: float | None  # wall clock
    rejected: int
    detail: str


class EventsApiSender:
    """The one task that talks to the Events API: submit() queues, run() delivers.

    While PagerDuty is down or throttling, events wait (net state per dedup_key, see
    pending.py) and are retried with backoff for as long as it takes; only events PagerDuty
    rejects as invalid (400 and the like) are dropped, logged with PagerDuty's `errors`,
    passed to `on_alarm` and kept in `rejected` (and in the journal). With a journal, every
    event is written before it is sent and removed only once PagerDuty accepted it.

    Each routing key has its own rate budget and its own backoff; urgent events (first pages,
    severity changes, acknowledges, resolves) go before re-sends of unchanged incidents.
    When delivery has failed for `failing_threshold` seconds, that is logged at error,
    `delivery_health()` turns unhealthy and `on_degraded` is called once (the fallback
    channel); `on_degraded` then gets every urgent event until delivery works again, and
    `on_recovered` is called once when it does. `on_accepted` sees every event PagerDuty took.
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
        journal: Journal | None = None,
        events_per_minute: int = DEFAULT_EVENTS_PER_MINUTE,
        budget_window: float = DEFAULT_WINDOW_SECONDS,
        failing_threshold: float = 300.0,
        on_degraded: Callable[[list[Event]], None] | None = None,
        on_recovered: Callable[[], None] | None = None,
        on_accepted: Callable[[Event], None] | None = None,
        request_poll_interval: float = 2.0,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._journal = journal
        restored = journal.load() if journal is not None else []
        self._pending = PendingEvents(known_open, restored)
        self._on_alarm = on_alarm
        self._transport = transport
        self._rand = rand
        self._wake = trio.Event()
        self._events_per_minute = events_per_minute
        self._budget_window = budget_window
        self._budgets: dict[str, RateBudget] = {}
        self._blocked_until: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._failing_threshold = failing_threshold
        self._failing_since: float | None = None
        self._degraded = False
        self._on_degraded = on_degraded
        self._on_recovered = on_recovered
        self._on_accepted = on_accepted
        self._request_poll_interval = request_poll_interval
        self._wall_clock = wall_clock
        self.rejected: list[RejectedEvent] = []
        self._results: dict[str, int] = {}
        self._budget_waits = 0
        if restored:
            log.info(
                "outbox: %d dedup key(s) restored, %d to deliver", len(restored), self.pending()
            )

    def submit(self, event: Event) -> None:
        """Queue an event (written to the journal first); never waits for PagerDuty."""
        urgent_before = self._degraded
        key = self._pending.submit(event, self._wall_clock())
        self._save(key)
        self._wake.set()
        if urgent_before and self._on_degraded is not None and self._is_urgent_news(event):
            self._on_degraded([event])

    def pending(self) -> int:
        """Dedup keys with an event PagerDuty has not accepted yet (including one in flight)."""
        return len(self._pending)

    def is_open(self, dedup_key: str) -> bool:
        """Whether PagerDuty accepted (or may have accepted) a trigger for this key and no
        resolve since."""
        return self._pending.is_open(dedup_key)

    def delivery_health(self) -> DeliveryHealth:
        now = self._wall_clock()
        failing = self._failing_since
        unhealthy = failing is not None and now - failing >= self._failing_threshold
        if unhealthy and failing is not None:
            detail = f"PagerDuty delivery failing for {now - failing:.0f} s"
        elif failing is not None:
            detail = f"PagerDuty delivery failing for {now - failing:.0f} s (retrying)"
        else:
            detail = "ok"
        return DeliveryHealth(
            healthy=not unhealthy,
            failing_since=failing,
            pending=self.pending(),
            oldest_pending_since=self._pending.oldest_queued_at(),
            rejected=len(self.rejected),
            detail=detail,
        )

    def paging_problem(self, now: float) -> str | None:
        """For /readyz (http.sources.PagingHealth): why paging is failing, once it has failed
        for `failing_threshold` seconds; None before that and while it works."""
        failing = self._failing_since
        if failing is None or now - failing < self._failing_threshold:
            return None
        return (
            f"PagerDuty has not accepted an event for {now - failing:.0f} s;"
            f" {self.pending()} waiting"
        )

    def events_by_result(self) -> dict[str, int]:
        """Attempts by outcome: accepted, retried, rejected (for /metrics)."""
        return dict(self._results)

    def rate_budget_waits(self) -> int:
        """How often an event was ready but had to wait for its routing key's rate budget."""
        return self._budget_waits

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
            task_status.started()
            next_poll = trio.current_time()
            while True:
                now = trio.current_time()
                if self._journal is not None and now >= next_poll:
                    for requested in self._journal.take_requests():
                        self.submit(requested)
                    next_poll = now + self._request_poll_interval
                self._wake = trio.Event()
                event = self._pending.take(partial(self._may_send, now=now))
                if event is None:
                    if self._budget_full(now):
                        self._budget_waits += 1
                    wake_at = self._next_chance(now)
                    if self._journal is not None:
                        wake_at = min(wake_at, next_poll)
                    with trio.move_on_at(wake_at):
                        await self._wake.wait()
                    continue
                routing_key = str(event.get("routing_key", ""))
                self._budget(routing_key).spend(now)
                try:
                    delay = await self._deliver(client, event)
                except BaseException:
                    self._pending.finish(event, Decision.RETRY, may_have_arrived=True)
                    raise
                if delay is not None:
                    self._blocked_until[routing_key] = trio.current_time() + delay

    def _may_send(self, event: Event, now: float) -> bool:
        routing_key = str(event.get("routing_key", ""))
        return now >= self._blocked_until.get(routing_key, now) and self._budget(
            routing_key
        ).has_room(now)

    def _budget_full(self, now: float) -> bool:
        return any(
            not self._budget(key).has_room(now) for key in self._pending.waiting_routing_keys()
        )

    def _next_chance(self, now: float) -> float:
        chances = [
            max(self._budget(key).next_room(now), self._blocked_until.get(key, now))
            for key in self._pending.waiting_routing_keys()
        ]
        return min(chances, default=math.inf)

    def _budget(self, routing_key: str) -> RateBudget:
        budget = self._budgets.get(routing_key)
        if budget is None:
            budget = RateBudget(self._events_per_minute, self._budget_window)
            self._budgets[routing_key] = budget
        return budget

    def _save(self, dedup_key: str) -> None:
        if self._journal is not None:
            self._journal.save(self._pending.record(dedup_key))

    async def _deliver(self, client: httpx.AsyncClient, event: Event) -> float | None:
        """Send one event and record the outcome; the seconds to wait before the next."""
        try:
            # httpx's timeout is per socket operation: an answer trickling in a byte at a time
            # (a stalled proxy) would hold every page behind it forever without this deadline
            with trio.fail_after(self._timeout * WHOLE_EXCHANGE_TIMEOUTS):
                response = await client.post(
                    self._url,
                    content=event_bytes(event),
                    headers={"Content-Type": "application/json"},
                )
        except trio.TooSlowError:
            stalled = httpx.ReadTimeout(
                f"no complete answer within {self._timeout * WHOLE_EXCHANGE_TIMEOUTS:g} s"
            )
            return self._after(event, classify(stalled), None, _describe_exception(stalled), True)
        except Exception as exc:
            return self._after(
                event, classify(exc), None, _describe_exception(exc), may_have_arrived(exc)
            )
        return self._after(
            event, classify(response.status_code), response, f"HTTP {response.status_code}", False
        )

    def _after(
        self,
        event: Event,
        decision: Decision,
        response: httpx.Response | None,
        reason: str,
        arrived: bool,
    ) -> float | None:
        dedup_key = self._pending.finish(event, decision, may_have_arrived=arrived)
        self._save(dedup_key)
        secret = str(event.get("routing_key", ""))
        action, key = event["event_action"], event["dedup_key"]
        if decision is Decision.DONE:
            self._count("accepted")
            self._failures.pop(secret, None)
            self._delivery_worked()
            device = key.removeprefix(DEDUP_KEY_PREFIX)
            log.info("paged PagerDuty: %s for %s", action, device)
            if self._on_accepted is not None:
                self._on_accepted(event)
            return None
        if decision is Decision.DROP_AND_ALARM:
            self._count("rejected")
            self._reject(event, response, _redact(reason, secret))
            return None
        self._count("retried")
        failures = self._failures.get(secret, 0) + 1
        self._failures[secret] = failures
        self._delivery_failed()
        retry_after = None
        if response is not None:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"), now=time.time())
        delay = self._retry.delay(failures, retry_after=retry_after, rand=self._rand())
        log.warning(
            "PagerDuty did not take the %s for %s (%s); retrying in %.1f s, %d pending",
            action,
            key,
            _redact(reason, secret),
            delay,
            self.pending(),
        )
        return delay

    def _count(self, result: str) -> None:
        self._results[result] = self._results.get(result, 0) + 1

    def _delivery_worked(self) -> None:
        self._failing_since = None
        if self._degraded:
            self._degraded = False
            log.warning("PagerDuty delivery works again; %d pending", self.pending())
            if self._on_recovered is not None:
                self._on_recovered()

    def _delivery_failed(self) -> None:
        now = self._wall_clock()
        if self._failing_since is None:
            self._failing_since = now
        if self._degraded or now - self._failing_since < self._failing_threshold:
            return
        self._degraded = True
        log.error(
            "PagerDuty delivery has failed for %.0f s; %d event(s) waiting%s",
            now - self._failing_since,
            self.pending(),
            ", using the fallback channel" if self._on_degraded is not None else "",
        )
        if self._on_degraded is not None:
            # pages PagerDuty already has (unchanged re-sends) are not news for the fallback
            waiting = self._pending.waiting_events()
            self._on_degraded([e for e in waiting if self._is_urgent_news(e)])

    def _is_urgent_news(self, event: Event) -> bool:
        return event.get("event_action") != "trigger" or self._pending.is_urgent(
            str(event.get("dedup_key"))
        )

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
        if self._journal is not None:
            self._journal.reject(event, rejected.status_code, reason, errors, self._wall_clock())
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
