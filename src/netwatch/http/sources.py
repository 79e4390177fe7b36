"""What the HTTP side reads, as small protocols: the areas that own the data (delivery, the
incident history) implement them; until one does, its part of the view is left out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class PagingHealth(Protocol):
    """Implemented by a sender that knows whether delivery is failing (issue 7's outbox)."""

    def paging_problem(self, now: float) -> str | None:
        """None while PagerDuty takes our events; else why not (no secret in it)."""
        ...


@runtime_checkable
class DeliveryStats(Protocol):
    """Counters a sender may expose for /metrics."""

    def events_by_result(self) -> Mapping[str, int]: ...

    def rate_budget_waits(self) -> int: ...


class IncidentHistory(Protocol):
    """A device's past incidents, newest first, as JSON-ready objects (issue 6's store)."""

    def incidents_of(self, device_id: str, limit: int) -> Sequence[Mapping[str, Any]]: ...
