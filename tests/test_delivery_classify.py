"""Retry-or-not is data: every status class and every httpx exception has a decision."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest

from netwatch.delivery import Decision, RetryPolicy, classify, retry_after_seconds
from netwatch.delivery.retry import may_have_arrived

DONE, RETRY, DROP = Decision.DONE, Decision.RETRY, Decision.DROP_AND_ALARM

STATUS_TABLE: list[tuple[int, Decision]] = [
    (100, RETRY),  # never a final answer: the event was not taken
    (199, RETRY),
    (200, DONE),
    (201, DONE),
    (202, DONE),  # PagerDuty's "Event processed"
    (204, DONE),
    (299, DONE),
    (300, DROP),  # a redirect means the configured URL is wrong
    (301, DROP),
    (302, DROP),
    (307, DROP),
    (308, DROP),
    (400, DROP),  # invalid event: the same body will fail again
    (401, DROP),
    (403, DROP),
    (404, DROP),
    (405, DROP),
    (408, DROP),
    (409, DROP),
    (413, DROP),
    (415, DROP),
    (422, DROP),
    (429, RETRY),  # throttled: retry after Retry-After
    (431, DROP),
    (499, DROP),
    (500, RETRY),
    (502, RETRY),
    (503, RETRY),
    (504, RETRY),
    (599, RETRY),
]


@pytest.mark.parametrize(("status", "decision"), STATUS_TABLE)
def test_status_code_decides(status: int, decision: Decision) -> None:
    assert classify(status) is decision


@pytest.mark.parametrize("status", range(100, 600))
def test_every_status_code_has_the_decision_of_its_class(status: int) -> None:
    if status == 429:
        expected = RETRY
    else:
        expected = {1: RETRY, 2: DONE, 3: DROP, 4: DROP, 5: RETRY}[status // 100]
    assert classify(status) is expected


REQUEST = httpx.Request("POST", "https://events.pagerduty.com/v2/enqueue")


def status_error(status: int) -> httpx.HTTPStatusError:
    response = httpx.Response(status, request=REQUEST)
    return httpx.HTTPStatusError("status", request=REQUEST, response=response)


EXCEPTION_TABLE: dict[type[BaseException], tuple[Callable[[], BaseException], Decision]] = {
    httpx.HTTPError: (lambda: httpx.HTTPError("?"), DROP),
    httpx.RequestError: (lambda: httpx.RequestError("?", request=REQUEST), RETRY),
    httpx.TransportError: (lambda: httpx.TransportError("?", request=REQUEST), RETRY),
    httpx.TimeoutException: (lambda: httpx.TimeoutException("timed out"), RETRY),
    httpx.ConnectTimeout: (lambda: httpx.ConnectTimeout("timed out"), RETRY),
    httpx.ReadTimeout: (lambda: httpx.ReadTimeout("timed out"), RETRY),
    httpx.WriteTimeout: (lambda: httpx.WriteTimeout("timed out"), RETRY),
    httpx.PoolTimeout: (lambda: httpx.PoolTimeout("timed out"), RETRY),
    httpx.NetworkError: (lambda: httpx.NetworkError("down"), RETRY),
    httpx.ConnectError: (lambda: httpx.ConnectError("refused"), RETRY),
    httpx.ReadError: (lambda: httpx.ReadError("reset"), RETRY),
    httpx.WriteError: (lambda: httpx.WriteError("broken pipe"), RETRY),
    httpx.CloseError: (lambda: httpx.CloseError("close"), RETRY),
    httpx.ProtocolError: (lambda: httpx.ProtocolError("?"), RETRY),
    httpx.RemoteProtocolError: (lambda: httpx.RemoteProtocolError("disconnected"), RETRY),
    httpx.LocalProtocolError: (lambda: httpx.LocalProtocolError("bad header"), DROP),
    httpx.ProxyError: (lambda: httpx.ProxyError("proxy down"), RETRY),
    httpx.DecodingError: (lambda: httpx.DecodingError("gzip"), RETRY),
    httpx.UnsupportedProtocol: (lambda: httpx.UnsupportedProtocol("ftp://"), DROP),
    httpx.TooManyRedirects: (lambda: httpx.TooManyRedirects("loop"), DROP),
    httpx.InvalidURL: (lambda: httpx.InvalidURL("bad"), DROP),
    httpx.CookieConflict: (lambda: httpx.CookieConflict("two"), DROP),
    httpx.StreamError: (lambda: httpx.StreamError("stream"), DROP),
    httpx.StreamConsumed: (httpx.StreamConsumed, DROP),
    httpx.StreamClosed: (httpx.StreamClosed, DROP),
    httpx.ResponseNotRead: (httpx.ResponseNotRead, DROP),
    httpx.RequestNotRead: (httpx.RequestNotRead, DROP),
    httpx.HTTPStatusError: (lambda: status_error(503), RETRY),
}


def httpx_exception_classes() -> set[type[BaseException]]:
    return {
        value
        for value in vars(httpx).values()
        if isinstance(value, type) and issubclass(value, BaseException)
    }


def test_the_table_covers_every_exception_class_httpx_exports() -> None:
    assert httpx_exception_classes() == set(EXCEPTION_TABLE)


@pytest.mark.parametrize(
    ("exception_class", "decision"),
    [(cls, decision) for cls, (_, decision) in EXCEPTION_TABLE.items()],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_httpx_exception_decides(exception_class: type[BaseException], decision: Decision) -> None:
    make, _ = EXCEPTION_TABLE[exception_class]
    exception = make()
    assert type(exception) is exception_class
    assert classify(exception) is decision


@pytest.mark.parametrize(("status", "decision"), [(400, DROP), (429, RETRY), (502, RETRY)])
def test_status_error_goes_by_its_status(status: int, decision: Decision) -> None:
    assert classify(status_error(status)) is decision


@pytest.mark.parametrize(
    ("exception", "decision"),
    [
        (ConnectionRefusedError(111, "refused"), RETRY),
        (TimeoutError(), RETRY),
        (OSError(101, "unreachable"), RETRY),
        (ValueError("a bug"), DROP),
        (KeyError("a bug"), DROP),
    ],
)
def test_other_exceptions(exception: BaseException, decision: Decision) -> None:
    assert classify(exception) is decision


NOW = datetime(2026, 12, 3, 13, 55, 48, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("0", 0.0),
        ("1", 1.0),
        (" 30 ", 30.0),
        ("2.5", 2.5),
        ("-4", 0.0),
        (format_datetime(datetime(2026, 12, 3, 13, 56, 18, tzinfo=UTC), usegmt=True), 30.0),
        ("Thu, 03 Dec 2026 13:55:00 GMT", 0.0),  # already past
    ],
)
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds


POLICY = RetryPolicy(
    initial_backoff=1.0, multiplier=2.0, max_backoff=60.0, jitter=0.2, max_retry_after=300.0
)


@pytest.mark.parametrize(
    ("failures", "rand", "delay"),
    [
        (1, 0.5, 1.0),
        (2, 0.5, 2.0),
        (3, 0.5, 4.0),
        (6, 0.5, 32.0),
        (7, 0.5, 60.0),  # capped
        (1000, 0.5, 60.0),
        (1, 0.0, 0.8),  # jitter: -20 %
        (3, 0.999_999_999, 4.8),  # +20 %, just under
        (7, 0.999_999_999, 60.0),  # the cap holds with jitter too
    ],
)
def test_backoff_grows_exponentially_with_jitter_and_a_cap(
    failures: int, rand: float, delay: float
) -> None:
    assert POLICY.delay(failures, retry_after=None, rand=rand) == pytest.approx(delay)


@pytest.mark.parametrize(("retry_after", "delay"), [(0.0, 0.0), (7.0, 7.0), (3600.0, 300.0)])
def test_retry_after_replaces_backoff_up_to_its_cap(retry_after: float, delay: float) -> None:
    assert POLICY.delay(9, retry_after=retry_after, rand=0.5) == delay


# Whether PagerDuty may have accepted an event whose sending ended with this exception: only
# failures before the request left (no connection, a bad request of ours) prove it did not.
NOT_SENT = {
    httpx.ConnectTimeout,
    httpx.ConnectError,
    httpx.PoolTimeout,
    httpx.LocalProtocolError,
    httpx.UnsupportedProtocol,
    httpx.InvalidURL,
    httpx.HTTPStatusError,
}


@pytest.mark.parametrize(
    "exception_class", list(EXCEPTION_TABLE), ids=lambda value: getattr(value, "__name__", "?")
)
def test_which_failures_may_have_reached_pagerduty(exception_class: type[BaseException]) -> None:
    make, _ = EXCEPTION_TABLE[exception_class]
    assert may_have_arrived(make()) is (exception_class not in NOT_SENT)


@pytest.mark.parametrize("status", [202, 400, 429, 500, 503])
def test_an_http_answer_is_never_a_maybe(status: int) -> None:
    assert may_have_arrived(status) is False
