"""E-mail as a paging channel in its own right: no PagerDuty routing key, `[email] always`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import trio
from support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer
from support.waiting import wait_until

from netwatch.alerts import DeviceAlert, FailingCheck, Level
from netwatch.cli import paging_mode
from netwatch.daemon import make_sender
from netwatch.delivery import DRY_RUN_HEADER, PrintingSender
from netwatch.events import resolve_event, trigger_event
from netwatch.inventory import Inventory, parse_inventory
from netwatch.paging import MailOnlyService, open_mail_channel


def mail_only_inventory(server: SmtpServer, folder: Path, *, always: bool = True) -> Inventory:
    return parse_inventory(
        f"""
[email]
host = "{server.host}"
port = {server.port}
username = "{SMTP_USER}"
password = "env:NW_TEST_SMTP_PASSWORD"
sender = "netwatch@isp.example"
to = ["noc@isp.example"]
always = {"true" if always else "false"}
[[devices]]
id = "tower-3"
address = "192.0.2.3"
profile = "ping-only"
""",
        folder / "devices.toml",  # the store goes beside it
    )


def test_without_a_routing_key_email_always_is_the_paging_channel(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NW_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    assert isinstance(make_sender(mail_only_inventory(smtp_server, tmp_path)), MailOnlyService)
    assert paging_mode(mail_only_inventory(smtp_server, tmp_path)) == "e-mail only (no routing key)"
    quiet = mail_only_inventory(smtp_server, tmp_path, always=False)
    assert isinstance(make_sender(quiet), PrintingSender)
    assert paging_mode(quiet) == "dry run (no routing key)"


async def test_pages_arrive_by_mail_and_are_printed(
    smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NW_TEST_SMTP_PASSWORD", SMTP_PASSWORD)
    inventory = mail_only_inventory(smtp_server, tmp_path)
    mail = open_mail_channel(inventory, tls_context=smtp_server.client_context)
    assert mail is not None
    printed = io.StringIO()
    service = MailOnlyService(PrintingSender(printed), mail)
    alert = DeviceAlert(
        "tower-3",
        "tower-3",
        "192.0.2.3",
        None,
        (FailingCheck("reachability", Level.CRITICAL, 100.0, "% loss", 100.0),),
        0.0,
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(service.run)
        service.submit(trigger_event(alert, routing_key="dry-run", now=0.0))
        await wait_until(lambda: len(smtp_server.subjects()) == 1, "the page")
        service.submit(resolve_event("tower-3", routing_key="dry-run"))
        await wait_until(lambda: len(smtp_server.subjects()) == 2, "two mails")
        nursery.cancel_scope.cancel()
    subjects = smtp_server.subjects()
    assert subjects[0].startswith("[netwatch] TRIGGER critical tower-3")
    assert subjects[1] == "[netwatch] RESOLVED tower-3"
    assert printed.getvalue().count(DRY_RUN_HEADER) == 2
