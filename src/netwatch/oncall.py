"""Who is on call, from PagerDuty's REST API (`GET /oncalls`), now and next.

One query with `earliest=true` over a look-ahead window gives, per escalation policy and
level, the earliest on-call entry of each user: the one whose start has passed is on call
now, the next start is who comes next. The answer is cached (a wall screen refreshing every
few seconds must not spend PagerDuty's 960 requests/min), and when PagerDuty cannot be
reached the last known answer is served with its age.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import trio

log = logging.getLogger("netwatch.oncall")

ACCEPT = "application/vnd.pagerduty+json;version=2"
PAGE_LIMIT = 100  # PagerDuty's maximum
MAX_PAGES = 50
MAX_THROTTLED_RETRIES = 3
DEFAULT_LOOKAHEAD = 7 * 24 * 3600.0


class OncallError(Exception):
    """PagerDuty could not give an answer; the message never holds the API token."""


@dataclass(frozen=True, slots=True)
class OnCallEntry:
    policy: str
    policy_id: str
    level: int
    user: str
    user_id: str
    schedule: str | None  # None: the user is a direct target of the policy
    start: float | None  # epoch seconds; None: permanent
    end: float | None


@dataclass(frozen=True, slots=True)
class LevelOnCall:
    policy: str
    policy_id: str
    level: int
    now: tuple[OnCallEntry, ...]
    next: OnCallEntry | None


@dataclass(frozen=True, slots=True)
class OncallSnapshot:
    """The last answer PagerDuty gave (`fetched_at`), and the last error since, if any."""

    entries: tuple[OnCallEntry, ...] = ()
    fetched_at: float | None = None
    error: str | None = None
    error_at: float | None = None

    def age(self, now: float) -> float | None:
        return None if self.fetched_at is None else max(0.0, now - self.fetched_at)

    def levels(self, now: float) -> tuple[LevelOnCall, ...]:
        """Grouped at `now`, not at fetch time: a cached answer stays right as shifts change."""
        return group_by_level(self.entries, now)

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "fetched_at": self.fetched_at,
            "age_seconds": self.age(now),
            "error": self.error,
            "levels": [
                {
                    "policy": level.policy,
                    "policy_id": level.policy_id,
                    "level": level.level,
                    "now": [_entry_json(e) for e in level.now],
                    "next": _entry_json(level.next) if level.next else None,
                }
                for level in self.levels(now)
            ],
        }


def _entry_json(entry: OnCallEntry) -> dict[str, Any]:
    return {
        "user": entry.user,
        "user_id": entry.user_id,
        "schedule": entry.schedule,
        "start": entry.start,
        "end": entry.end,
    }


def parse_time(text: object) -> float | None:
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def parse_entry(raw: Mapping[str, Any]) -> OnCallEntry:
    """One element of `oncalls[]`. Raises OncallError on a shape PagerDuty does not send."""
    try:
        user = raw["user"] or {}
        policy = raw["escalation_policy"] or {}
        schedule = raw.get("schedule")
        return OnCallEntry(
            policy=str(policy.get("summary") or policy["id"]),
            policy_id=str(policy["id"]),
            level=int(raw["escalation_level"]),
            user=str(user.get("summary") or user.get("name") or user["id"]),
            user_id=str(user["id"]),
            schedule=str(schedule.get("summary") or schedule["id"]) if schedule else None,
            start=parse_time(raw.get("start")),
            end=parse_time(raw.get("end")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise OncallError(f"unexpected on-call entry from PagerDuty: {exc!r}") from None


def group_by_level(entries: Sequence[OnCallEntry], now: float) -> tuple[LevelOnCall, ...]:
    """Per policy and level: everyone on call at `now`, and the earliest one starting later."""
    grouped: dict[tuple[str, int], list[OnCallEntry]] = {}
    for entry in entries:
        grouped.setdefault((entry.policy_id, entry.level), []).append(entry)
    levels = []
    for (policy_id, level), group in grouped.items():
        current = tuple(
            sorted(
                (
                    e
                    for e in group
                    if (e.start is None or e.start <= now) and (e.end is None or e.end > now)
                ),
                key=lambda e: e.user,
            )
        )
        upcoming = sorted(
            (e for e in group if e.start is not None and e.start > now), key=lambda e: e.start or 0
        )
        levels.append(
            LevelOnCall(
                group[0].policy, policy_id, level, current, upcoming[0] if upcoming else None
            )
        )
    return tuple(sorted(levels, key=lambda lv: (lv.policy, lv.level)))


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


async def fetch_oncalls(
    client: httpx.AsyncClient,
    *,
    api_url: str,
    token: bytes,
    now: float,
    lookahead: float = DEFAULT_LOOKAHEAD,
    sleep: Callable[[float], Awaitable[None]] = trio.sleep,
) -> list[OnCallEntry]:
    """Every page of `/oncalls` (earliest per policy, level and user) from now to now+lookahead.
    A 429 waits `ratelimit-reset` seconds, then asks for the same page again."""
    headers = {
        "Authorization": "Token token=" + token.decode("utf-8", "replace"),
        "Accept": ACCEPT,
    }
    entries: list[OnCallEntry] = []
    offset = 0
    throttled = 0
    for _ in range(MAX_PAGES + MAX_THROTTLED_RETRIES):
        params: dict[str, str | int] = {
            "earliest": "true",
            "since": _iso(now),
            "until": _iso(now + lookahead),
            "limit": PAGE_LIMIT,
            "offset": offset,
        }
        try:
            response = await client.get(
                api_url.rstrip("/") + "/oncalls", params=params, headers=headers
            )
        except httpx.HTTPError as exc:
            raise OncallError(f"PagerDuty unreachable: {type(exc).__name__}") from None
        if response.status_code == 429:
            throttled += 1
            if throttled > MAX_THROTTLED_RETRIES:
                raise OncallError("PagerDuty keeps answering 429 (rate limited)")
            wait = _reset_seconds(response.headers.get("ratelimit-reset"))
            log.warning("PagerDuty REST rate limit reached; waiting %.0f s", wait)
            await sleep(wait)
            continue
        if response.status_code != 200:
            raise OncallError(f"PagerDuty answered HTTP {response.status_code} to /oncalls")
        try:
            body = response.json()
            page = body["oncalls"]
        except (ValueError, KeyError, TypeError):
            raise OncallError("PagerDuty's /oncalls answer is not the documented JSON") from None
        entries.extend(parse_entry(raw) for raw in page)
        if not body.get("more"):
            return entries
        offset += len(page)
        if not page:
            raise OncallError("PagerDuty said there are more on-calls but sent an empty page")
    raise OncallError(f"more than {MAX_PAGES} pages of on-calls; narrow the look-ahead")


def _reset_seconds(header: str | None) -> float:
    try:
        return min(max(float(header or "1"), 0.0), 120.0)
    except ValueError:
        return 1.0


@dataclass
class OncallService:
    """Refreshes the on-call answer every `cache_seconds` in the background; readers take
    `snapshot`, which never waits for PagerDuty."""

    api_url: str
    token: bytes = field(repr=False)
    cache_seconds: float = 300.0
    retry_seconds: float = 30.0
    lookahead: float = DEFAULT_LOOKAHEAD
    wall_clock: Callable[[], float] = time.time
    transport: httpx.AsyncBaseTransport | None = None
    snapshot: OncallSnapshot = field(default_factory=OncallSnapshot)

    async def refresh(self, client: httpx.AsyncClient) -> OncallSnapshot:
        now = self.wall_clock()
        try:
            entries = await fetch_oncalls(
                client, api_url=self.api_url, token=self.token, now=now, lookahead=self.lookahead
            )
        except OncallError as exc:
            message = str(exc).replace(self.token.decode("utf-8", "replace"), "<api-token>")
            log.warning("on-call refresh failed: %s (keeping the answer from before)", message)
            self.snapshot = OncallSnapshot(
                self.snapshot.entries, self.snapshot.fetched_at, message, now
            )
        else:
            self.snapshot = OncallSnapshot(tuple(entries), now)
        return self.snapshot

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with httpx.AsyncClient(timeout=10.0, transport=self.transport) as client:
            task_status.started()
            while True:
                snapshot = await self.refresh(client)
                await trio.sleep(self.retry_seconds if snapshot.error else self.cache_seconds)


def format_age(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    delta = timedelta(seconds=int(seconds))
    if delta.total_seconds() < 60:
        return f"{int(seconds)} s"
    if delta.total_seconds() < 3600:
        return f"{int(seconds // 60)} min"
    return f"{seconds / 3600:.1f} h"
