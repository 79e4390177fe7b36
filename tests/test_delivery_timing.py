"""Backoff and Retry-After timings, exact, on trio's autojump clock (httpx.MockTransport: no
sockets, so virtual time is safe here)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import trio
import trio.testing

from netwatch.delivery import EventsApiSender, RetryPolicy
from netwatch.events import Event

ROUTING_KEY = "Rk0123456789abcdef0123456789abcd"
POLICY = RetryPolicy(initial_backoff=1.0, multiplier=2.0, max_backoff=8.0, jitter=0.2)


def trigger(key: str) -> Event:
    return {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": key,
        "payload": {"summary": "down", "severity": "critical", "source": "192.0.2.1"},
    }


class ScriptedPagerDuty:
    """Answers from a script of responses, then 202; records the virtual time of each call."""

    def __init__(self, script: list[Callable[[], httpx.Response]]) -> None:
        self.script = script
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.times.append(trio.current_time())
        if self.script:
            return self.script.pop(0)()
        return httpx.Response(202, json={"status": "success", "message": "Event processed"})

    def gaps(self) -> list[float]:
        return [later - earlier for earlier, later in zip(self.times, self.times[1:], strict=False)]


def status(code: int, **headers: str) -> Callable[[], httpx.Response]:
    return lambda: httpx.Response(code, headers=headers, json={"status": "x", "message": "x"})


def refused() -> httpx.Response:
    raise httpx.ConnectError("connection refused")


async def deliver(pagerduty: ScriptedPagerDuty, *events: Event, rand: float = 0.5) -> None:
    sender = EventsApiSender(
        transport=httpx.MockTransport(pagerduty), retry=POLICY, rand=lambda: rand
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        for event in events:
            sender.submit(event)
        while sender.pending():  # noqa: ASYNC110 (virtual time: polling costs nothing)
            await trio.sleep(0.5)
        nursery.cancel_scope.cancel()


async def test_backoff_doubles_up_to_the_cap(autojump_clock: trio.testing.MockClock) -> None:
    pagerduty = ScriptedPagerDuty([status(503)] * 6)
    await deliver(pagerduty, trigger("a"))
    assert pagerduty.gaps() == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


@pytest.mark.parametrize(("rand", "first_gap"), [(0.0, 0.8), (0.75, 1.1)])
async def test_backoff_is_jittered(
    autojump_clock: trio.testing.MockClock, rand: float, first_gap: float
) -> None:
    pagerduty = ScriptedPagerDuty([status(500)])
    await deliver(pagerduty, trigger("a"), rand=rand)
    assert pagerduty.gaps() == [pytest.approx(first_gap)]


async def test_retry_after_is_honoured(autojump_clock: trio.testing.MockClock) -> None:
    pagerduty = ScriptedPagerDuty([status(429, **{"Retry-After": "30"}), status(429)])
    await deliver(pagerduty, trigger("a"))
    assert pagerduty.gaps() == [30.0, 2.0]  # the second 429 has no header: backoff (2nd failure)


async def test_success_resets_the_backoff(autojump_clock: trio.testing.MockClock) -> None:
    pagerduty = ScriptedPagerDuty([status(503), status(503), lambda: httpx.Response(202)])
    pagerduty.script.append(status(503))
    await deliver(pagerduty, trigger("a"), trigger("b"))
    assert pagerduty.gaps() == [1.0, 2.0, 0.0, 1.0]


async def test_an_hour_down_delays_the_page_but_never_drops_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    pagerduty = ScriptedPagerDuty([refused] * 450)
    await deliver(pagerduty, trigger("a"))
    assert len(pagerduty.times) == 451
    assert pagerduty.times[-1] - pagerduty.times[0] == 1 + 2 + 4 + 8 * 447  # about an hour
