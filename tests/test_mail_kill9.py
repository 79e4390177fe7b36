"""kill -9 of a real `netwatch run` paging by e-mail only (no routing key, `[email] always`)
while the SMTP server refuses every message; the next run mails each page exactly once and
does not mail the re-sends of the incidents still open (real process, real SQLite file,
aiosmtpd with STARTTLS and AUTH on 127.0.0.1, SNMP to a loopback port where no agent runs)."""

from __future__ import annotations

import re
import signal
from collections import Counter
from pathlib import Path

from support.daemon_process import WAIT_LIMIT, FileLoggedDaemon, killed_on_exit
from support.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer
from support.snmp_agents import free_udp_port

from netwatch.delivery import DRY_RUN_HEADER
from netwatch.delivery.printing import RESEND_LINE
from netwatch.store import open_store
from netwatch.store.mail_queue import DurableMailQueue

DEVICES = ("radio-1", "radio-2", "radio-3")
SUBMITTED = re.compile(f"^({re.escape(DRY_RUN_HEADER)}|{re.escape(RESEND_LINE)})", re.MULTILINE)
INVENTORY = """
[netwatch]
interval = "1s"
state_db = "state/netwatch.db"
[http]
enabled = false
[pagerduty]
resend_interval = "1s"   # open incidents are re-sent every cycle: none of that is news
[email]
host = "127.0.0.1"
port = {smtp_port}
username = "{user}"
password = "env:NW_MAIL_KILL9_PASSWORD"
sender = "netwatch@isp.example"
to = ["noc@isp.example"]
always = true
[defaults]
profile = "linux"
hold_down = "1s"
recovery = "1s"
[defaults.snmp]
community = "public"
port = {snmp_port}   # nothing answers: the snmp check fails and each device pages
timeout = "300ms"
retries = 0
"""
DEVICE = """
[[devices]]
id = "radio-{n}"
address = "127.0.0.{n}"
"""


class MailingDaemon(FileLoggedDaemon):
    def __init__(self, config: Path, smtp: SmtpServer) -> None:
        super().__init__(
            config,
            env={
                "NW_MAIL_KILL9_PASSWORD": SMTP_PASSWORD,
                "SSL_CERT_FILE": str(smtp.certificate),  # trust the test server's STARTTLS
            },
        )

    def submitted(self) -> int:
        """Events the monitor handed to paging (printed: a run without a routing key)."""
        return len(SUBMITTED.findall(self.out_path.read_text()))

    def log(self) -> str:
        return self.err_path.read_text()


def mailed_pages(smtp: SmtpServer) -> Counter[str]:
    """How often each device's page was mailed, over every message the server accepted."""
    with smtp.arrived:
        texts = [str(message.get_body().get_content()) for message in smtp.messages]  # type: ignore[union-attr]
    return Counter(re.findall(r"^TRIGGER \w+ (\S+):", "\n".join(texts), flags=re.MULTILINE))


def test_kill_9_while_smtp_refuses_then_restart_mails_each_page_once(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    config = tmp_path / "devices.toml"
    config.write_text(
        INVENTORY.format(smtp_port=smtp_server.port, user=SMTP_USER, snmp_port=free_udp_port())
        + "".join(DEVICE.format(n=n) for n in range(1, len(DEVICES) + 1))
    )
    store = open_store(tmp_path / "state" / "netwatch.db")
    queue = DurableMailQueue(store)

    smtp_server.refuse = True
    with killed_on_exit(MailingDaemon(config, smtp_server)) as first:
        first.wait_for("three queued pages", lambda: queue.waiting_count() == 3)
        first.wait_for("a refused mail", lambda: "could not mail" in first.log())
        first.wait_for("re-sends", lambda: first.submitted() >= 2 * len(DEVICES))
        first.kill_9()
    assert first.process.returncode == -signal.SIGKILL
    assert smtp_server.messages == []
    assert queue.waiting_count() == 3  # re-sends while refused queued nothing more

    smtp_server.refuse = False
    with killed_on_exit(MailingDaemon(config, smtp_server)) as second:
        second.wait_for("the queue mailed", lambda: queue.waiting_count() == 0)
        mailed_by = second.submitted()
        # re-sends of the incidents still open, after the backlog went out
        second.wait_for("re-sends", lambda: second.submitted() >= mailed_by + 2 * len(DEVICES))
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(timeout=WAIT_LIMIT) == 0
    log = second.log()
    assert "mail queue: 3 page(s) and 0 notice(s) restored" in log
    assert mailed_pages(smtp_server) == Counter(DEVICES)  # each exactly once
    assert smtp_server.subjects() == ["[netwatch] 3 pages"]  # the backlog is one mail
    assert SMTP_PASSWORD not in first.log() + log
    store.close()
