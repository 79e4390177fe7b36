"""Retry-or-not as data: what an Events API response or error means, and how long to wait.

Pure: no I/O, no clock. PagerDuty's table (events-v2.openapi.json): 202 done, 400 never
retried with the same body, 429 and 5xx and network errors retried after a while.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Final

import httpx


class Decision(enum.Enum):
    DONE = "done"
    RETRY = "retry"
    DROP_AND_ALARM = "drop_and_alarm"


# Most specific first: the first class an exception is an instance of decides.
EXCEPTION_DECISIONS: Final[tuple[tuple[type[BaseException], Decision], ...]] = (
    (httpx.TimeoutException, Decision.RETRY),
    (httpx.NetworkError, Decision.RETRY),
    # the server or a middlebox closed the connection mid-answer: the event may not be in
    (httpx.RemoteProtocolError, Decision.RETRY),
    (httpx.ProxyError, Decision.RETRY),
    # a response that would not decode still came from somewhere that was not PagerDuty's 202
    (httpx.DecodingError, Decision.RETRY),
    # our own request was malformed: sending it again cannot help
    (httpx.LocalProtocolError, Decision.DROP_AND_ALARM),
    # a URL that is not http(s) is a configuration error
    (httpx.UnsupportedProtocol, Decision.DROP_AND_ALARM),
    (httpx.TooManyRedirects, Decision.DROP_AND_ALARM),
    (httpx.TransportError, Decision.RETRY),
    (httpx.RequestError, Decision.RETRY),
    (httpx.InvalidURL, Decision.DROP_AND_ALARM),
    (httpx.CookieConflict, Decision.DROP_AND_ALARM),
    (httpx.StreamError, Decision.DROP_AND_ALARM),
    (OSError, Decision.RETRY),
)


# Failures that prove the request never reached the server: nothing could have been accepted.
# Any other exception (a read timeout, a connection dropped mid-answer) leaves open whether
# PagerDuty took the event, so a trigger that failed that way may have opened an incident.
NOT_SENT_EXCEPTIONS: Final[tuple[type[BaseException], ...]] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.InvalidURL,
    httpx.LocalProtocolError,
)


def may_have_arrived(outcome: int | BaseException) -> bool:
    """Whether PagerDuty may have accepted an event whose sending ended this way.

    An HTTP answer is definite (only 2xx means accepted, and that is not "may"); of the
    exceptions only those in NOT_SENT_EXCEPTIONS prove the request never left.
    """
    if isinstance(outcome, httpx.HTTPStatusError):
        return False
    if isinstance(outcome, BaseException):
        return not isinstance(outcome, NOT_SENT_EXCEPTIONS)
    return False


def classify(outcome: int | BaseException) -> Decision:
    """What to do with an event after an HTTP status code or an exception from sending it.

    2xx done (PagerDuty answers 202); 429 and 5xx retry; every other status (3xx: the URL
    is wrong, 4xx: the event is) drop and alarm. Exceptions go by EXCEPTION_DECISIONS; an
    `httpx.HTTPStatusError` by its status; anything unknown is dropped and alarmed, since
    retrying a bug forever would hide it.
    """
    if isinstance(outcome, httpx.HTTPStatusError):
        return classify(outcome.response.status_code)
    if isinstance(outcome, BaseException):
        for exception_class, decision in EXCEPTION_DECISIONS:
            if isinstance(outcome, exception_class):
                return decision
        return Decision.DROP_AND_ALARM
    if 200 <= outcome <= 299:
        return Decision.DONE
    if outcome == 429 or outcome >= 500 or outcome < 200:
        return Decision.RETRY
    return Decision.DROP_AND_ALARM


def retry_after_seconds(value: str | None, *, now: float) -> float | None:
    """The wait a `Retry-After` header asks for (delta-seconds or HTTP-date), None if absent
    or unreadable; `now` is epoch seconds, used for the HTTP-date form."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = moment.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter and a cap; Retry-After is honoured up to its own cap."""

    initial_backoff: float = 1.0
    multiplier: float = 2.0
    max_backoff: float = 60.0
    jitter: float = 0.2  # ± this fraction of the delay
    max_retry_after: float = 300.0

    def delay(self, failures: int, *, retry_after: float | None, rand: float) -> float:
        """Seconds to wait after `failures` consecutive failures (≥ 1); `rand` in [0, 1)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        exponent = min(max(failures - 1, 0), 64)
        base = min(self.initial_backoff * self.multiplier**exponent, self.max_backoff)
        jittered = base * (1.0 - self.jitter + 2.0 * self.jitter * rand)
        return min(jittered, self.max_backoff)
