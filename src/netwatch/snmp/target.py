"""Where and how to reach one SNMP agent. Secrets are bytes and never shown by repr()."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SnmpVersion = Literal["1", "2c", "3"]
AuthProtocol = Literal["MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"]
PrivProtocol = Literal["DES", "3DES", "AES", "AES192", "AES256"]


@dataclass(frozen=True, slots=True)
class SnmpTarget:
    address: str
    port: int = 161
    version: SnmpVersion = "2c"
    community: bytes | None = field(default=None, repr=False)
    user: str | None = None
    auth_protocol: AuthProtocol | None = None
    auth_key: bytes | None = field(default=None, repr=False)
    priv_protocol: PrivProtocol | None = None
    priv_key: bytes | None = field(default=None, repr=False)
    timeout: float = 2.0
    retries: int = 1
