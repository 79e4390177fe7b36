"""Wiring of the paging side: the durable outbox in the SQLite store behind the Events API
sender, and the e-mail channel beside it. The daemon calls `open_paging_sender`;
`open_outbox` is how another process reaches the same outbox."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import trio

from netwatch.delivery import EventsApiSender, PrintingSender, RetryPolicy
from netwatch.delivery.sender import DeliveryHealth
from netwatch.delivery.smtp import MailChannel, SmtpConfig
from netwatch.events import (
    DEDUP_KEY_PREFIX,
    Event,
    acknowledge_event,
    dedup_key_for,
    routing_key_fingerprint,
)
from netwatch.inventory import Inventory
from netwatch.routing import PagingPlan, plan_for
from netwatch.store import Store, open_store
from netwatch.store.alert_state import state_db_path
from netwatch.store.mail_queue import DurableMailQueue
from netwatch.store.outbox import DurableOutbox

log = logging.getLogger("netwatch.delivery")


def open_outbox(inventory: Inventory, state_db: Path | None = None) -> tuple[Store, DurableOutbox]:
    store = open_store(state_db or state_db_path(inventory))
    keys = plan_for(inventory).routing_keys() if inventory.routing_key else []
    return store, DurableOutbox(store, keys)


class PagingService:
    """PagerDuty (durable outbox, retries, rate budget) plus the optional e-mail channel,
    as one Sender for the monitor and the web side (PagingHealth, DeliveryStats)."""

    def __init__(
        self,
        pagerduty: EventsApiSender,
        mail: MailChannel | None = None,
        *,
        mail_always: bool = False,
    ) -> None:
        self.pagerduty = pagerduty
        self.mail = mail
        self._mail_always = mail_always

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            if self.mail is not None:
                await nursery.start(self.mail.run)
            await nursery.start(self.pagerduty.run)
            task_status.started()

    def submit(self, event: Event) -> None:
        self.pagerduty.submit(event)
        if self.mail is not None and self._mail_always:
            self.mail.page(event)

    def pending(self) -> int:
        return self.pagerduty.pending()

    def is_open(self, dedup_key: str) -> bool:
        return self.pagerduty.is_open(dedup_key)

    def delivery_health(self) -> DeliveryHealth:
        return self.pagerduty.delivery_health()

    def paging_problem(self, now: float) -> str | None:
        return self.pagerduty.paging_problem(now)

    def events_by_result(self) -> Mapping[str, int]:
        return self.pagerduty.events_by_result()

    def rate_budget_waits(self) -> int:
        return self.pagerduty.rate_budget_waits()


def mail_recipients(plan: Callable[[], PagingPlan]) -> Callable[[Event], Sequence[str]]:
    """The e-mail recipients of an event: its device's routing rule (the rules in force now)."""

    def recipients(event: Event) -> Sequence[str]:
        device_id = str(event.get("dedup_key", "")).removeprefix(DEDUP_KEY_PREFIX)
        severity = (event.get("payload") or {}).get("severity")
        return (
            plan()
            .route_for(device_id, severity if event.get("event_action") == "trigger" else None)
            .email_to
        )

    return recipients


def open_paging_sender(
    inventory: Inventory,
    *,
    plan: Callable[[], PagingPlan] | None = None,
    state_db: Path | None = None,
    tls_context: ssl.SSLContext | None = None,
    retry: RetryPolicy | None = None,
) -> PagingService:
    """The Events API sender with its outbox in the store (events queued by a previous run or
    a kill -9 are delivered first), and with `[email]` the mail channel: every page with
    `always`, and with `fallback` the pages PagerDuty could not take once delivery has failed
    for `failing_threshold`, then one mail when it works again. `plan`: the routing rules in
    force (the notifier's, so a reload changes recipients too)."""
    store, outbox = open_outbox(inventory, state_db)
    pagerduty = inventory.pagerduty
    email = inventory.email
    mail = open_mail_channel(inventory, plan=plan, tls_context=tls_context, store=store)
    fallback = mail is not None and email is not None and email.fallback
    sender = EventsApiSender(
        url=pagerduty.events_url,
        journal=outbox,
        events_per_minute=pagerduty.events_per_minute,
        failing_threshold=pagerduty.failing_threshold,
        retry=retry,
        on_degraded=mail.fallback if fallback and mail is not None else None,
        on_recovered=mail.recovered if fallback and mail is not None else None,
        on_accepted=mail.delivered if fallback and mail is not None else None,
    )
    if mail is not None:
        mail.set_pending_source(sender.pending)
    return PagingService(sender, mail, mail_always=email is not None and email.always)


def open_mail_channel(
    inventory: Inventory,
    *,
    plan: Callable[[], PagingPlan] | None = None,
    tls_context: ssl.SSLContext | None = None,
    store: Store | None = None,
) -> MailChannel | None:
    """The `[email]` channel, or None without one. Recipients follow `plan` (the routing rules
    in force), else the inventory's rules as loaded. With `store`, its queue and what it
    mailed survive a restart (mails still waiting are sent, no news is mailed twice)."""
    email = inventory.email
    if email is None:
        return None
    fixed = plan_for(inventory)
    current_plan = plan or (lambda: fixed)
    config = SmtpConfig(
        host=email.host,
        port=email.port,
        security=email.security,
        sender=email.sender,
        username=email.username,
        password=inventory.smtp_password,
        timeout=email.timeout,
        tls_context=tls_context,
    )
    return MailChannel(
        config,
        recipients_for=mail_recipients(current_plan),
        fallback_recipients=email.to,
        journal=DurableMailQueue(store) if store is not None else None,
    )


class MailOnlyService:
    """No PagerDuty routing key, but `[email] always = true`: e-mail is the paging channel.
    Events are printed too, as in any run without a routing key."""

    def __init__(self, printer: PrintingSender, mail: MailChannel) -> None:
        self._printer = printer
        self.mail = mail
        mail.set_pending_source(lambda: 0)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self.mail.run(task_status=task_status)

    def submit(self, event: Event) -> None:
        self._printer.submit(event)
        self.mail.page(event)

    def pending(self) -> int:
        return self.mail.waiting()


class AcknowledgeRefused(Exception):
    """`netwatch ack` cannot acknowledge: unknown device, no open incident, no routing key."""


def request_acknowledge(inventory: Inventory, device_id: str, note: str | None, now: float) -> str:
    """Queue an acknowledge for a device's open incident in the store's outbox; the daemon
    (running now, or at its next start) delivers it in order after any pending trigger.
    Returns the dedup key. Going through the daemon's outbox instead of posting directly
    keeps one sender per routing key: the acknowledge counts against the same rate budget
    and can never overtake a trigger still waiting in the outbox."""
    if device_id not in inventory.by_id():
        raise AcknowledgeRefused(f"no device {device_id!r} in {inventory.source}")
    if inventory.routing_key is None:
        raise AcknowledgeRefused(
            "no PagerDuty routing key is configured: in a dry run nothing reaches PagerDuty, "
            "so there is nothing to acknowledge"
        )
    store, outbox = open_outbox(inventory)
    try:
        key = dedup_key_for(device_id)
        route = outbox.open_route(key)
        if route is None:
            raise AcknowledgeRefused(
                f"{device_id} has no open PagerDuty incident (none was delivered to PagerDuty, "
                "or it has been resolved; incidents of a dry run never reach it)"
            )
        # the acknowledge goes with the routing key of the trigger it follows
        plan = plan_for(inventory)
        keys = {routing_key_fingerprint(k): k for k in plan.routing_keys()}
        routing_key = keys.get(route) or plan.route_for(device_id).routing_key
        event = acknowledge_event(device_id, routing_key=routing_key, now=now, note=note)
        outbox.request(event, now)
        log.info("acknowledge for %s queued%s", device_id, f" ({note})" if note else "")
        return key
    finally:
        store.close()
