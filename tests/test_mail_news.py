"""Which pages are worth a mail, and how waiting mail is grouped into messages (pure)."""

from __future__ import annotations

import pytest

from netwatch.delivery.mail import (
    Batch,
    KeyNews,
    MailItem,
    MailNews,
    RecoveryNotice,
    batches,
)
from netwatch.events import Event

KEY = "netwatch/core-1"


def event(action: str, severity: str | None = None, key: str = KEY) -> Event:
    built: Event = {"routing_key": "R" * 32, "event_action": action, "dedup_key": key}
    if severity is not None:
        built["payload"] = {"summary": f"{key} {severity}", "severity": severity}
    return built


TRIGGER_CRITICAL = event("trigger", "critical")
TRIGGER_WARNING = event("trigger", "warning")
ACK = event("acknowledge")
RESOLVE = event("resolve")


@pytest.mark.parametrize(
    ("mailed_before", "offered", "is_news"),
    [
        ([], TRIGGER_CRITICAL, True),
        ([TRIGGER_CRITICAL], TRIGGER_CRITICAL, False),  # the minute re-send
        ([TRIGGER_CRITICAL], TRIGGER_WARNING, True),  # severity changed
        ([TRIGGER_CRITICAL, TRIGGER_WARNING], TRIGGER_CRITICAL, True),  # and back
        ([TRIGGER_CRITICAL], ACK, True),
        ([TRIGGER_CRITICAL, ACK], ACK, False),
        ([TRIGGER_CRITICAL, ACK], TRIGGER_CRITICAL, False),  # acknowledged, still open
        ([TRIGGER_CRITICAL], RESOLVE, True),
        ([TRIGGER_CRITICAL, RESOLVE], RESOLVE, False),
        ([TRIGGER_CRITICAL, RESOLVE], TRIGGER_CRITICAL, True),  # a new incident
        ([TRIGGER_CRITICAL, ACK, RESOLVE], ACK, True),  # a new incident's acknowledge
        ([TRIGGER_CRITICAL, RESOLVE, TRIGGER_CRITICAL], RESOLVE, True),
        ([event("trigger", "critical", key="netwatch/other")], TRIGGER_CRITICAL, True),
    ],
)
def test_news_in_one_run_and_after_a_restart(
    mailed_before: list[Event], offered: Event, is_news: bool
) -> None:
    news = MailNews()
    known: dict[str, KeyNews] = {}
    for mailed in mailed_before:
        assert news.is_news(mailed)
        key, state = news.mailed(mailed)
        known[key] = state  # what the store holds after each mail
    assert news.is_news(offered) is is_news
    # a restart with what the store holds knows exactly as much
    assert MailNews(known).is_news(offered) is is_news


@pytest.mark.parametrize(
    ("mailed", "expected"),
    [
        ([TRIGGER_CRITICAL], KeyNews(open=True, severity="critical")),
        ([TRIGGER_CRITICAL, TRIGGER_WARNING], KeyNews(open=True, severity="warning")),
        ([TRIGGER_CRITICAL, ACK], KeyNews(open=True, severity="critical", acknowledged=True)),
        ([TRIGGER_CRITICAL, ACK, RESOLVE], KeyNews(resolved=True)),
        ([RESOLVE, TRIGGER_WARNING], KeyNews(open=True, severity="warning")),
        ([event("trigger")], KeyNews(open=True, severity=None)),
    ],
)
def test_what_is_kept_per_dedup_key(mailed: list[Event], expected: KeyNews) -> None:
    news = MailNews()
    states = [news.mailed(each) for each in mailed]
    assert states[-1] == (KEY, expected)


NOC, NORTH = ("noc@isp.example",), ("north@isp.example", "noc@isp.example")


def item(device: str, to: tuple[str, ...], row: int) -> MailItem:
    return MailItem(event("trigger", "critical", key=f"netwatch/{device}"), to, "channel", row)


A, B, C = item("a", NOC, 1), item("b", NORTH, 2), item("c", NOC, 3)
NOTICE = RecoveryNotice(NOC, pending=4, at=1_796_306_148.0, row=7)


@pytest.mark.parametrize(
    ("notices", "items", "expected"),
    [
        ([], [], []),
        ([], [A], [Batch(NOC, (A,))]),
        ([], [A, C], [Batch(NOC, (A, C))]),  # a backlog is one message per recipient list
        ([], [B, A, C], [Batch(NORTH, (B,)), Batch(NOC, (A, C))]),
        ([NOTICE], [], [Batch(NOC, notice=NOTICE)]),
        ([NOTICE], [A, B], [Batch(NOC, notice=NOTICE), Batch(NOC, (A,)), Batch(NORTH, (B,))]),
    ],
)
def test_batches(
    notices: list[RecoveryNotice], items: list[MailItem], expected: list[Batch]
) -> None:
    assert batches(notices, items) == expected


def test_a_batch_message_carries_its_pages_or_its_notice() -> None:
    pages = Batch(NOC, (A, C)).message(sender="netwatch@isp.example", now=NOTICE.at)
    assert pages["Subject"] == "[netwatch] 2 pages"
    assert pages["To"] == "noc@isp.example"
    body = pages.get_content()
    assert "TRIGGER critical a: netwatch/a critical" in body
    assert "TRIGGER critical c: netwatch/c critical" in body
    notice = Batch(NOC, notice=NOTICE).message(sender="netwatch@isp.example", now=0.0)
    assert notice["Subject"] == "[netwatch] PagerDuty reachable again"
    assert "4 event(s) still waiting" in notice.get_content()
    assert notice["Date"] == "Thu, 03 Dec 2026 13:55:48 -0000"  # when PagerDuty came back
