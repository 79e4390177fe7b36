"""Test fixture: a real SMTP server (aiosmtpd) on 127.0.0.1 in a thread, with STARTTLS on a
self-signed certificate made for the test, and AUTH (required, only after STARTTLS)."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError as exc:  # pragma: no cover - a missing tool must fail, not skip
    raise ImportError("aiosmtpd is missing: run tools/setup (pip install -e '.[test]')") from exc

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from netwatch.delivery.smtp import SmtpConfig

SMTP_USER = "netwatch"
SMTP_PASSWORD = "smtp-Pw-93kd!secret"


@dataclass
class SmtpServer:
    host: str
    port: int
    client_context: ssl.SSLContext  # trusts the server's self-signed certificate
    certificate: Path  # that certificate, for a client in another process (SSL_CERT_FILE)
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    failed_logins: int = 0
    refuse: bool = False  # answer 451 to every message (a server having trouble)
    unknown_recipients: set[str] = field(default_factory=set)  # answered 550 at RCPT
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def subjects(self) -> list[str]:
        with self.arrived:
            return [str(m["Subject"]) for m in self.messages]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_RCPT(
        self, smtp: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self._server.unknown_recipients:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        if self._server.refuse:
            return "451 4.3.0 try again later"
        with self._server.arrived:
            self._server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self._server.messages.append(
                message_from_bytes(envelope.content, policy=policy.default)
            )
            self._server.arrived.notify_all()
        return "250 OK"


def client_config(server: SmtpServer, password: str = SMTP_PASSWORD) -> SmtpConfig:
    """netwatch's settings for this server: STARTTLS trusting its certificate, then AUTH."""
    return SmtpConfig(
        host=server.host,
        port=server.port,
        security="starttls",
        sender="netwatch@isp.example",
        username=SMTP_USER,
        password=password.encode(),
        timeout=5.0,
        tls_context=server.client_context,
    )


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    cert, key = _self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))
    server = SmtpServer("127.0.0.1", 0, client_context, cert)

    def authenticate(smtp: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == SMTP_USER.encode()
            and data.password == SMTP_PASSWORD.encode()
        )
        if ok:
            server.logins.append(SMTP_USER)
        else:
            server.failed_logins += 1
        return AuthResult(success=ok)

    server.port = _free_port()
    controller = Controller(
        _Handler(server),
        hostname="127.0.0.1",
        port=server.port,
        tls_context=server_context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticate,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
