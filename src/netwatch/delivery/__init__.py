"""Delivery of PagerDuty events: the Events API sender, the dry-run printer, retry rules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import trio

from netwatch.delivery.printing import DRY_RUN_HEADER, ROUTING_KEY_PLACEHOLDER, PrintingSender
from netwatch.delivery.retry import (
    EXCEPTION_DECISIONS,
    Decision,
    RetryPolicy,
    classify,
    retry_after_seconds,
)
from netwatch.delivery.sender import (
    DEFAULT_EVENTS_URL,
    EU_EVENTS_URL,
    EventsApiSender,
    RejectedEvent,
)
from netwatch.events import Event


class Sender(Protocol):
    """What the notifier needs: start it in the nursery, then submit events."""

    async def run(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None: ...

    def submit(self, event: Event) -> None: ...

    def pending(self) -> int: ...


if TYPE_CHECKING:
    # mypy proves both senders satisfy the protocol the daemon is written against
    _SENDERS: tuple[Sender, ...] = (EventsApiSender(), PrintingSender())

__all__ = [
    "DEFAULT_EVENTS_URL",
    "DRY_RUN_HEADER",
    "EU_EVENTS_URL",
    "EXCEPTION_DECISIONS",
    "ROUTING_KEY_PLACEHOLDER",
    "Decision",
    "EventsApiSender",
    "PrintingSender",
    "RejectedEvent",
    "RetryPolicy",
    "Sender",
    "classify",
    "retry_after_seconds",
]
