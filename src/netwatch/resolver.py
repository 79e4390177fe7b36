"""Device names to addresses: both families unless the inventory pins one, cached for a
configured time, and a remembered "address that answered" tried first next time.

The system resolver (getaddrinfo: /etc/hosts, then DNS, as nsswitch says) gives no record TTLs,
so entries live for `cache_for` seconds (netwatch.dns_cache). A failed lookup is cached for a
short time only, so a fixed DNS record is picked up quickly.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import trio

AddressFamily = Literal["any", "ipv4", "ipv6"]
DEFAULT_CACHE_FOR = 300.0
FAILURE_CACHE_FOR = 30.0

_SOCKET_FAMILY = {"any": socket.AF_UNSPEC, "ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}
# getaddrinfo's "the name does not exist" answers, as opposed to "could not ask" (EAI_AGAIN).
_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5)}

Lookup = Callable[[str, int], Awaitable[Sequence[str]]]


class DnsError(Exception):
    """The name could not be turned into an address; str() is the result people see."""


async def system_lookup(name: str, family: int) -> Sequence[str]:
    infos: list[Any] = await trio.socket.getaddrinfo(
        name, None, family=family, type=socket.SOCK_DGRAM
    )
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class _Entry:
    addresses: tuple[str, ...]
    error: str | None
    expires: float


class Resolver:
    def __init__(self, *, cache_for: float = DEFAULT_CACHE_FOR, lookup: Lookup = system_lookup):
        self._cache_for = cache_for
        self._lookup = lookup
        self._entries: dict[tuple[str, AddressFamily], _Entry] = {}
        self._answered: dict[tuple[str, AddressFamily], str] = {}

    async def resolve(self, name: str, family: AddressFamily, now: float) -> tuple[str, ...]:
        """Every address of `name` in `family`, the one that answered last first. An IP literal
        is returned as is. DnsError says why there is none."""
        try:
            return (str(ipaddress.ip_address(name)),)
        except ValueError:
            pass
        key = (name, family)
        entry = self._entries.get(key)
        if entry is None or entry.expires <= now:
            entry = await self._ask(name, family, now)
            self._entries[key] = entry
        if entry.error is not None:
            raise DnsError(entry.error)
        return _first(self._answered.get(key), entry.addresses)

    def answered(self, name: str, family: AddressFamily, address: str) -> None:
        """Remember the address that answered, to try it first until the name changes."""
        self._answered[(name, family)] = address

    async def _ask(self, name: str, family: AddressFamily, now: float) -> _Entry:
        try:
            found = await self._lookup(name, _SOCKET_FAMILY[family])
        except socket.gaierror as error:
            if error.errno in _NO_SUCH_NAME:
                message = f"DNS: no such name ({name})"
            else:
                message = f"DNS: {error.strerror or 'lookup failed'} ({name})"
            return _Entry((), message, now + min(self._cache_for, FAILURE_CACHE_FOR))
        addresses = tuple(dict.fromkeys(found))  # one entry per address, resolver order kept
        if not addresses:
            pinned = "" if family == "any" else f" {family}"
            return _Entry((), f"DNS: no{pinned} address ({name})", now + FAILURE_CACHE_FOR)
        return _Entry(addresses, None, now + self._cache_for)


def _first(preferred: str | None, addresses: tuple[str, ...]) -> tuple[str, ...]:
    if preferred is None or preferred not in addresses:
        return addresses
    return (preferred, *(a for a in addresses if a != preferred))
