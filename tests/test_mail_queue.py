"""The e-mail channel's queue in the real SQLite store, against a real SMTP server on loopback
(aiosmtpd with STARTTLS and AUTH): what a restart finds, what it mails, what it does not."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import trio
from support.smtp import SmtpServer, client_config
from support.waiting import wait_until

from netwatch.delivery.smtp import MailChannel
from netwatch.events import Event, acknowledge_event
from netwatch.inventory import load_inventory
from netwatch.paging import open_paging_sender
from netwatch.store import open_store
from netwatch.store.mail_queue import DurableMailQueue

ROUTING_KEY = "Rk0123456789abcdef0123456789abcd"


def event(action: str, device: str, severity: str = "critical") -> Event:
    built: Event = {
        "routing_key": ROUTING_KEY,
        "event_action": action,
        "dedup_key": f"netwatch/{device}",
    }
    if action == "trigger":
        built["payload"] = {"summary": f"{device} down", "severity": severity}
    return built


class Run:
    """One daemon lifetime: a store opened on `path`, a mail channel on it."""

    def __init__(self, path: Path, server: SmtpServer) -> None:
        self.store = open_store(path)
        self.queue = DurableMailQueue(self.store)
        self.channel = MailChannel(
            client_config(server),
            recipients_for=lambda event: ["noc@isp.example"],
            fallback_recipients=["noc@isp.example"],
            journal=self.queue,
        )

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(self.channel.run)
            await wait_until(condition, what)
            nursery.cancel_scope.cancel()
        self.store.close()


def bodies(server: SmtpServer) -> list[str]:
    with server.arrived:
        return [str(message.get_body().get_content()) for message in server.messages]  # type: ignore[union-attr]


def every_byte_in(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in folder.iterdir())


async def test_pages_queued_while_the_server_refuses_are_mailed_once_after_a_restart(
    tmp_path: Path, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "state" / "netwatch.db"
    smtp_server.refuse = True
    first = Run(db, smtp_server)
    for device in ("a", "b", "c"):
        first.channel.page(event("trigger", device))
    first.channel.page(event("trigger", "a"))  # an unchanged re-send: not news
    await first.until(lambda: "could not mail" in caplog.text, "a refused attempt")
    assert smtp_server.messages == []
    assert ROUTING_KEY.encode() not in every_byte_in(db.parent)

    smtp_server.refuse = False
    second = Run(db, smtp_server)
    assert second.channel.waiting() == 3
    # after the restart the incidents' re-sends are no news; the resolve is
    second.channel.page(event("trigger", "b"))
    second.channel.page(event("resolve", "c"))
    await second.until(lambda: second.queue.waiting_count() == 0, "an empty queue")
    assert smtp_server.subjects() == ["[netwatch] 4 pages"]
    assert bodies(smtp_server)[0].splitlines() == [
        "TRIGGER critical a: a down",
        "TRIGGER critical b: b down",
        "TRIGGER critical c: c down",
        "RESOLVED c",
    ]

    third = Run(db, smtp_server)
    assert third.channel.waiting() == 0
    third.channel.page(event("trigger", "a"))
    third.channel.page(event("trigger", "c"))  # c was resolved: a new incident
    await third.until(lambda: len(smtp_server.messages) == 2, "the second mail")
    assert smtp_server.subjects()[1] == "[netwatch] TRIGGER critical c: c down"


async def test_news_mailed_before_a_restart_is_not_mailed_again_and_new_news_is(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    db = tmp_path / "netwatch.db"
    first = Run(db, smtp_server)
    first.channel.page(event("trigger", "a"))
    first.channel.page(event("trigger", "b"))
    await first.until(lambda: first.queue.waiting_count() == 0, "the first mail")

    second = Run(db, smtp_server)
    second.channel.page(event("trigger", "a"))  # unchanged
    second.channel.page(event("trigger", "b", severity="warning"))  # severity changed
    second.channel.page(event("acknowledge", "a"))
    await second.until(lambda: second.queue.waiting_count() == 0, "the second mail")

    third = Run(db, smtp_server)
    third.channel.page(event("acknowledge", "a"))  # mailed before the restart
    third.channel.page(event("trigger", "b", severity="warning"))
    third.channel.page(event("resolve", "b"))
    await third.until(lambda: third.queue.waiting_count() == 0, "the third mail")
    assert [body.splitlines() for body in bodies(smtp_server)] == [
        ["TRIGGER critical a: a down", "TRIGGER critical b: b down"],
        ["TRIGGER warning b: b down", "ACKNOWLEDGED a: "],
        ["RESOLVED b"],
    ]


async def test_the_pagerduty_reachable_again_mail_survives_a_restart(
    tmp_path: Path, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "netwatch.db"
    smtp_server.refuse = True
    first = Run(db, smtp_server)
    first.channel.fallback([event("trigger", "a")])
    first.channel.set_pending_source(lambda: 7)
    first.channel.recovered()
    await first.until(lambda: "could not mail" in caplog.text, "a refused attempt")

    smtp_server.refuse = False
    second = Run(db, smtp_server)
    await second.until(lambda: second.queue.waiting_count() == 0, "an empty queue")
    assert smtp_server.subjects() == [
        "[netwatch] PagerDuty reachable again",
        "[netwatch] TRIGGER critical a: a down (PagerDuty unreachable)",
    ]
    assert "7 event(s) still waiting" in bodies(smtp_server)[0]


async def test_a_store_that_cannot_be_written_does_not_stop_paging(
    tmp_path: Path, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    db = tmp_path / "netwatch.db"
    run = Run(db, smtp_server)
    run.store.connection.execute("PRAGMA query_only = ON")  # every write fails from here on
    run.channel.page(event("trigger", "a"))
    assert run.channel.waiting() == 1  # kept in memory
    await run.until(lambda: len(smtp_server.messages) == 1, "the mail")
    assert smtp_server.subjects() == ["[netwatch] TRIGGER critical a: a down"]
    assert "mail queue: could not write to the store" in caplog.text
    assert "kept in memory only" in caplog.text
    assert "a restart mails it again" not in caplog.text  # nothing stored to remove
    assert Run(db, smtp_server).queue.load().items == []


async def test_a_mailed_page_the_store_cannot_forget_is_mailed_again_never_lost(
    tmp_path: Path, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "netwatch.db"
    first = Run(db, smtp_server)
    first.channel.page(event("trigger", "a"))  # stored
    first.store.connection.execute("PRAGMA query_only = ON")  # its removal will fail
    await first.until(lambda: len(smtp_server.messages) == 1, "the mail")
    assert "could not write to the store" in caplog.text
    assert "a restart mails it again" in caplog.text

    second = Run(db, smtp_server)
    await second.until(lambda: second.queue.waiting_count() == 0, "an empty queue")
    assert smtp_server.subjects() == ["[netwatch] TRIGGER critical a: a down"] * 2


def test_with_pagerduty_the_mail_queue_is_in_the_outbox_store(
    tmp_path: Path, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NW_MAIL_QUEUE_KEY", ROUTING_KEY)
    inventory = tmp_path / "devices.toml"
    inventory.write_text(
        f"""
[pagerduty]
routing_key = "env:NW_MAIL_QUEUE_KEY"
events_url = "http://127.0.0.1:9/v2/enqueue"
[email]
host = "{smtp_server.host}"
port = {smtp_server.port}
sender = "netwatch@isp.example"
to = ["noc@isp.example"]
always = true
[[devices]]
id = "a"
address = "127.0.0.1"
profile = "ping-only"
"""
    )
    db = tmp_path / "state.db"
    service = open_paging_sender(load_inventory(inventory), state_db=db)
    service.submit(event("trigger", "a"))  # not sent: nothing runs
    restarted = open_paging_sender(load_inventory(inventory), state_db=db)
    assert restarted.mail is not None and restarted.mail.waiting() == 1
    assert restarted.pagerduty.pending() == 1


async def test_a_page_whose_summary_has_line_breaks_is_mailed_on_a_one_line_subject(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    # `netwatch ack --note` takes any text, and sensor names come from the agent: a line
    # break in a header stopped the mail task (and, restored from the store, every restart's)
    ack = acknowledge_event("a", routing_key=ROUTING_KEY, now=0.0, note="on my way\r\nback at 5")
    run = Run(tmp_path / "netwatch.db", smtp_server)
    run.channel.page(ack)
    await run.until(lambda: run.queue.waiting_count() == 0, "the mail")
    assert smtp_server.subjects() == [
        "[netwatch] ACKNOWLEDGED a: acknowledged from netwatch: on my way back at 5"
    ]
    assert "on my way" in bodies(smtp_server)[0]


async def test_a_refused_recipient_list_does_not_hold_back_the_others(
    tmp_path: Path, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    # a typo in one routing rule's e-mail: the server refuses that mailbox for good
    smtp_server.unknown_recipients = {"lab@isp.exmaple"}
    store = open_store(tmp_path / "netwatch.db")
    channel = MailChannel(
        client_config(smtp_server),
        recipients_for=lambda e: [
            "lab@isp.exmaple" if "lab" in e["dedup_key"] else "noc@isp.example"
        ],
        fallback_recipients=["noc@isp.example"],
        journal=DurableMailQueue(store),
    )
    channel.page(event("trigger", "lab-1"))
    channel.page(event("trigger", "core-1"))
    async with trio.open_nursery() as nursery:
        await nursery.start(channel.run)
        await wait_until(lambda: len(smtp_server.messages) == 1, "the core page's mail")
        nursery.cancel_scope.cancel()
    store.close()
    assert smtp_server.subjects() == ["[netwatch] TRIGGER critical core-1: core-1 down"]
    assert channel.waiting() == 1  # the lab page waits for its recipients to be fixed
    assert "recipients refused: lab@isp.exmaple" in caplog.text
