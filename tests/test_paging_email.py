"""The e-mail channel against a real SMTP server on loopback (aiosmtpd: STARTTLS with a
self-signed certificate, AUTH), and the fallback while the PagerDuty stand-in answers 503."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import trio
from support.pagerduty import PagerDutyStandIn
from support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer, client_config

from netwatch.alerts import DeviceAlert, FailingCheck, Level
from netwatch.delivery import RetryPolicy
from netwatch.delivery.smtp import MailChannel
from netwatch.events import Event, resolve_event, trigger_event
from netwatch.inventory import load_inventory
from netwatch.paging import open_paging_sender

DEFAULT_KEY = "Rk0123456789abcdef0123456789abcd"
NORTH_KEY = "Nk0123456789abcdef0123456789abcd"
NOW = 1_796_306_148.0
FAST = RetryPolicy(initial_backoff=0.05, multiplier=2.0, max_backoff=0.2, jitter=0.0)


def trigger(device_id: str, key: str = DEFAULT_KEY, level: Level = Level.CRITICAL) -> Event:
    alert = DeviceAlert(
        device_id=device_id,
        name=device_id,
        address="192.0.2.7",
        site="north",
        failing=(FailingCheck("cpu", level, 97.0, "%", 90.0),),
        since=NOW,
    )
    return trigger_event(alert, routing_key=key, now=NOW, links=[("https://192.0.2.7/", "web UI")])


async def until(condition: Callable[[], bool]) -> None:
    with trio.fail_after(20):
        while not condition():  # noqa: ASYNC110 (the SMTP server and stand-in are threads)
            await trio.sleep(0.02)


async def test_pages_by_mail_over_starttls_with_auth_news_only(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    channel = MailChannel(
        client_config(smtp_server),
        recipients_for=lambda event: ["noc@isp.example", "oncall@isp.example"],
        fallback_recipients=["noc@isp.example"],
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(channel.run)
        channel.page(trigger("core-1"))
        await until(lambda: len(smtp_server.messages) == 1)
        channel.page(trigger("core-1"))  # an unchanged re-send: no news
        channel.page(trigger("core-1", level=Level.WARNING))  # severity changed
        await until(lambda: len(smtp_server.messages) == 2)
        channel.page(resolve_event("core-1", routing_key=DEFAULT_KEY))
        channel.page(resolve_event("core-1", routing_key=DEFAULT_KEY))
        await until(lambda: len(smtp_server.messages) == 3)
        assert channel.waiting() == 0
        nursery.cancel_scope.cancel()
    assert smtp_server.subjects() == [
        "[netwatch] TRIGGER critical core-1: core-1 (192.0.2.7): cpu 97.0 % ≥ 90 % (critical)",
        "[netwatch] TRIGGER warning core-1: core-1 (192.0.2.7): cpu 97.0 % ≥ 90 % (warning)",
        "[netwatch] RESOLVED core-1",
    ]
    assert smtp_server.envelopes[0] == (
        "netwatch@isp.example",
        ["noc@isp.example", "oncall@isp.example"],
    )
    assert smtp_server.logins == [SMTP_USER] * 3
    first = smtp_server.messages[0].get_payload(decode=True)
    assert isinstance(first, bytes)
    assert b"web UI: https://192.0.2.7/" in first
    for message in smtp_server.messages:
        assert DEFAULT_KEY not in message.as_string()
    assert SMTP_PASSWORD not in caplog.text


async def test_wrong_password_is_retried_and_never_logged(
    smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-Pw-0000-secret"
    channel = MailChannel(
        client_config(smtp_server, password=wrong),
        recipients_for=lambda event: ["noc@isp.example"],
        fallback_recipients=["noc@isp.example"],
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(channel.run)
        channel.page(trigger("core-1"))
        await until(lambda: smtp_server.failed_logins >= 1)
        await until(lambda: "could not mail" in caplog.text)
        nursery.cancel_scope.cancel()
    assert smtp_server.messages == []
    assert channel.waiting() == 1  # kept for the next attempt
    assert f"could not mail 127.0.0.1:{smtp_server.port}: SMTP" in caplog.text
    assert wrong not in caplog.text and SMTP_PASSWORD not in caplog.text


INVENTORY = """
[pagerduty]
routing_key = "env:NW_MAIL_DEFAULT_KEY"
events_url = "{url}"
failing_threshold = "300ms"
[paging]
device_url = "https://{{address}}/"
[[paging.routes]]
sites = ["north"]
routing_key = "env:NW_MAIL_NORTH_KEY"
email = ["north@isp.example"]
[email]
host = "127.0.0.1"
port = {port}
username = "netwatch"
password = "env:NW_MAIL_SMTP_PASSWORD"
sender = "netwatch@isp.example"
to = ["noc@isp.example"]
[defaults]
profile = "ping-only"
[[devices]]
id = "north-1"
address = "192.0.2.1"
site = "north"
[[devices]]
id = "south-1"
address = "192.0.2.2"
site = "south"
[[devices]]
id = "north-2"
address = "192.0.2.3"
site = "north"
"""


async def test_fallback_mails_while_pagerduty_fails_then_recovers_without_duplicates(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pagerduty_standin: PagerDutyStandIn,
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setenv("NW_MAIL_DEFAULT_KEY", DEFAULT_KEY)
    monkeypatch.setenv("NW_MAIL_NORTH_KEY", NORTH_KEY)
    monkeypatch.setenv("NW_MAIL_SMTP_PASSWORD", SMTP_PASSWORD)
    path = tmp_path / "devices.toml"
    path.write_text(INVENTORY.format(url=pagerduty_standin.url, port=smtp_server.port))
    inventory = load_inventory(path)
    service = open_paging_sender(
        inventory,
        state_db=tmp_path / "state.db",
        tls_context=smtp_server.client_context,
        retry=FAST,
    )
    assert service.mail is not None
    pagerduty_standin.fail_next(100_000, 503)
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        service.submit(trigger("north-1", NORTH_KEY))
        service.submit(trigger("south-1"))
        # both are in the backlog mailed when delivery has failed for 300 ms: one mail per
        # recipient list (the north rule's, the default)
        await until(lambda: len(smtp_server.messages) == 2)
        problem = service.paging_problem(time.time())
        assert problem is not None and problem.startswith("PagerDuty has not accepted an event")
        service.submit(trigger("north-1", NORTH_KEY))  # an unchanged re-send: not news
        service.submit(trigger("north-2", NORTH_KEY))  # a new page while degraded: mailed
        await until(lambda: len(smtp_server.messages) == 3)
        pagerduty_standin.heal()
        await until(lambda: len(pagerduty_standin.open_incidents()) == 3)
        await until(lambda: len(smtp_server.messages) == 4)
        service.submit(resolve_event("south-1", routing_key=DEFAULT_KEY))
        await until(lambda: service.pending() == 0)
        nursery.cancel_scope.cancel()
    subjects = smtp_server.subjects()
    recipients = [rcpt for _, rcpt in smtp_server.envelopes]
    # the backlog's two mails go out in the outbox's order, which retries rotate
    backlog = sorted(zip(subjects[:2], recipients[:2], strict=True))
    assert backlog == [
        (
            "[netwatch] TRIGGER critical north-1: north-1 (192.0.2.7): cpu 97.0 % ≥ 90 %"
            " (critical) (PagerDuty unreachable)",
            ["north@isp.example"],
        ),
        (
            "[netwatch] TRIGGER critical south-1: south-1 (192.0.2.7): cpu 97.0 % ≥ 90 %"
            " (critical) (PagerDuty unreachable)",
            ["noc@isp.example"],
        ),
    ]
    assert subjects[2:] == [
        "[netwatch] TRIGGER critical north-2: north-2 (192.0.2.7): cpu 97.0 % ≥ 90 % (critical)"
        " (PagerDuty unreachable)",
        "[netwatch] PagerDuty reachable again",
    ]
    assert recipients[2:] == [
        ["north@isp.example"],
        ["noc@isp.example", "north@isp.example"],
    ]
    assert pagerduty_standin.actions_for("netwatch/south-1") == ["trigger", "resolve"]
    assert pagerduty_standin.actions_for("netwatch/north-1") == ["trigger"]
    assert {i.routing_key for i in pagerduty_standin.incidents if "north" in i.dedup_key} == {
        NORTH_KEY
    }
    assert "paged PagerDuty: trigger for north-1" in caplog.text
    assert "paged PagerDuty: resolve for south-1" in caplog.text
    assert "PagerDuty delivery has failed for" in caplog.text
    for secret in (DEFAULT_KEY, NORTH_KEY, SMTP_PASSWORD):
        assert secret not in caplog.text
        for message in smtp_server.messages:
            assert secret not in message.as_string()


async def test_a_new_incident_in_a_second_outage_is_mailed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pagerduty_standin: PagerDutyStandIn,
    smtp_server: SmtpServer,
) -> None:
    # The mail channel knew only what it mailed: south-1's resolve went to PagerDuty between
    # the outages, so its next incident read as the one mailed in the first outage.
    monkeypatch.setenv("NW_MAIL_DEFAULT_KEY", DEFAULT_KEY)
    monkeypatch.setenv("NW_MAIL_NORTH_KEY", NORTH_KEY)
    monkeypatch.setenv("NW_MAIL_SMTP_PASSWORD", SMTP_PASSWORD)
    path = tmp_path / "devices.toml"
    path.write_text(INVENTORY.format(url=pagerduty_standin.url, port=smtp_server.port))
    service = open_paging_sender(
        load_inventory(path),
        state_db=tmp_path / "state.db",
        tls_context=smtp_server.client_context,
        retry=FAST,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        pagerduty_standin.fail_next(100_000, 503)
        service.submit(trigger("south-1"))
        await until(lambda: len(smtp_server.messages) == 1)
        pagerduty_standin.heal()
        await until(lambda: len(smtp_server.messages) == 2)  # PagerDuty reachable again
        service.submit(resolve_event("south-1", routing_key=DEFAULT_KEY))
        await until(lambda: service.pending() == 0)  # PagerDuty took the resolve

        pagerduty_standin.fail_next(100_000, 503)
        service.submit(trigger("south-1"))
        await until(lambda: len(smtp_server.messages) == 3)
        nursery.cancel_scope.cancel()
    assert smtp_server.subjects()[2].startswith("[netwatch] TRIGGER critical south-1: ")
