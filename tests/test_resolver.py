"""Resolver rules with a scripted lookup (pure logic), and getaddrinfo for real on localhost."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import pytest

from netwatch.resolver import DnsError, Resolver


class ScriptedLookup:
    def __init__(self, answers: dict[tuple[str, int], Sequence[str] | socket.gaierror]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, name: str, family: int) -> Sequence[str]:
        self.asked.append((name, family))
        answer = self.answers[(name, family)]
        if isinstance(answer, socket.gaierror):
            raise answer
        return answer


TOWER = {("tower.example", socket.AF_UNSPEC): ["2001:db8::7", "192.0.2.7", "192.0.2.7"]}


async def test_ip_literals_are_not_looked_up() -> None:
    lookup = ScriptedLookup({})
    resolver = Resolver(lookup=lookup)
    assert await resolver.resolve("0:0::1", "any", 0.0) == ("::1",)
    assert lookup.asked == []


async def test_both_families_in_resolver_order_without_repeats() -> None:
    resolver = Resolver(lookup=ScriptedLookup(TOWER))
    assert await resolver.resolve("tower.example", "any", 0.0) == ("2001:db8::7", "192.0.2.7")


@pytest.mark.parametrize(
    ("family", "socket_family"), [("ipv4", socket.AF_INET), ("ipv6", socket.AF_INET6)]
)
async def test_a_pinned_family_asks_for_that_family_only(family: str, socket_family: int) -> None:
    lookup = ScriptedLookup({("tower.example", socket_family): ["x"]})
    resolver = Resolver(lookup=lookup)
    assert await resolver.resolve("tower.example", family, 0.0) == ("x",)  # type: ignore[arg-type]
    assert lookup.asked == [("tower.example", socket_family)]


async def test_answers_are_cached_for_the_configured_time() -> None:
    lookup = ScriptedLookup(TOWER)
    resolver = Resolver(cache_for=60.0, lookup=lookup)
    for now in (0.0, 30.0, 59.9):
        await resolver.resolve("tower.example", "any", now)
    assert len(lookup.asked) == 1
    await resolver.resolve("tower.example", "any", 60.0)
    assert len(lookup.asked) == 2


async def test_the_address_that_answered_is_tried_first() -> None:
    resolver = Resolver(lookup=ScriptedLookup(TOWER))
    resolver.answered("tower.example", "any", "192.0.2.7")
    assert await resolver.resolve("tower.example", "any", 0.0) == ("192.0.2.7", "2001:db8::7")
    # An address the name no longer has is forgotten, not invented.
    resolver.answered("tower.example", "any", "192.0.2.99")
    assert await resolver.resolve("tower.example", "any", 1.0) == ("2001:db8::7", "192.0.2.7")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "DNS: no such name"),
        (
            socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
            "DNS: Temporary failure in name resolution",
        ),
    ],
)
async def test_lookup_failures_are_their_own_result_and_cached_briefly(
    error: socket.gaierror, message: str
) -> None:
    lookup = ScriptedLookup({("gone.example", socket.AF_UNSPEC): error})
    resolver = Resolver(cache_for=300.0, lookup=lookup)
    with pytest.raises(DnsError) as raised:
        await resolver.resolve("gone.example", "any", 0.0)
    assert str(raised.value) == f"{message} (gone.example)"
    with pytest.raises(DnsError):
        await resolver.resolve("gone.example", "any", 29.0)
    assert len(lookup.asked) == 1
    with pytest.raises(DnsError):
        await resolver.resolve("gone.example", "any", 30.0)
    assert len(lookup.asked) == 2


async def test_an_empty_answer_is_an_error_naming_the_pinned_family() -> None:
    resolver = Resolver(lookup=ScriptedLookup({("v4only.example", socket.AF_INET6): []}))
    with pytest.raises(DnsError, match=r"^DNS: no ipv6 address \(v4only.example\)$"):
        await resolver.resolve("v4only.example", "ipv6", 0.0)


async def test_localhost_through_the_system_resolver() -> None:
    # /etc/hosts only: no DNS server is asked for "localhost".
    addresses = await Resolver().resolve("localhost", "ipv4", 0.0)
    assert addresses[0].startswith("127.")
