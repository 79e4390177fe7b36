"""Real echo requests to loopback (127.0.0.0/8 and ::1) through the trio Pinger."""

from __future__ import annotations

import pytest
import trio

from netwatch.icmp import Family, Pinger
from netwatch.samples import PingResult


@pytest.fixture
async def pinger(nursery: trio.Nursery) -> Pinger:
    pinger = Pinger()
    await nursery.start(pinger.run)
    return pinger


def assert_all_answered(result: PingResult, count: int, timeout: float) -> None:
    assert (result.sent, result.received, result.duplicates, result.error) == (
        count,
        count,
        0,
        None,
    )
    assert result.loss_percent == 0.0
    assert len(result.rtts_ms) == count
    assert all(0.0 <= rtt <= timeout * 1000 for rtt in result.rtts_ms)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
async def test_loopback_answers_every_request(pinger: Pinger, address: str) -> None:
    result = await pinger.ping(address, count=3, interval=0.05, timeout=1.0)
    assert result.address == address
    assert_all_answered(result, 3, 1.0)


async def test_both_families_have_a_socket(pinger: Pinger) -> None:
    assert set(pinger.socket_kinds) == {Family.V4, Family.V6}


async def test_two_thousand_concurrent_probes_on_one_socket_lose_nothing(pinger: Pinger) -> None:
    addresses = [f"127.{1 + i // 250}.{i % 250}.{1 + i % 7}" for i in range(2_000)]
    assert len(set(addresses)) == 2_000
    results: dict[str, PingResult] = {}

    async def probe(address: str) -> None:
        results[address] = await pinger.ping(address, count=3, interval=0.2, timeout=2.0)

    async with trio.open_nursery() as nursery:
        for address in addresses:
            nursery.start_soon(probe, address)

    assert set(results) == set(addresses)
    for result in results.values():
        assert_all_answered(result, 3, 2.0)


async def test_two_pingers_in_one_process_do_not_steal_each_others_replies(
    nursery: trio.Nursery,
) -> None:
    first, second = Pinger(), Pinger()
    await nursery.start(first.run)
    await nursery.start(second.run)
    results: list[PingResult] = []

    async def probe(pinger: Pinger) -> None:
        results.append(await pinger.ping("127.0.0.1", count=5, interval=0.01, timeout=1.0))

    async with trio.open_nursery() as inner:
        inner.start_soon(probe, first)
        inner.start_soon(probe, second)
    for result in results:
        assert_all_answered(result, 5, 1.0)


async def test_differently_spelled_address_still_matches(pinger: Pinger) -> None:
    result = await pinger.ping("0:0:0:0:0:0:0:1", count=1, timeout=1.0)
    assert result.address == "0:0:0:0:0:0:0:1"
    assert_all_answered(result, 1, 1.0)


async def test_hostnames_are_rejected(pinger: Pinger) -> None:
    with pytest.raises(ValueError):
        await pinger.ping("localhost")


async def test_ping_before_run_is_an_error() -> None:
    with pytest.raises(RuntimeError, match=r"Pinger\.run\(\)"):
        await Pinger().ping("127.0.0.1")


async def test_run_cleans_up_on_cancel_and_can_start_again() -> None:
    pinger = Pinger()
    for _ in range(2):
        async with trio.open_nursery() as nursery:
            await nursery.start(pinger.run)
            assert_all_answered(await pinger.ping("127.0.0.1", count=1), 1, 1.0)
            nursery.cancel_scope.cancel()
        assert pinger.socket_kinds == {}
        with pytest.raises(RuntimeError):
            await pinger.ping("127.0.0.1")
