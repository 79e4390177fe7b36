"""Send pacing (pure) and the wake-up timer that parks probes (on trio's autojump clock)."""

from __future__ import annotations

import pytest
import trio

from netwatch.icmp.pacing import SendPacer
from netwatch.icmp.wakeups import WakeUpTimer


def test_a_burst_of_requests_is_spread_at_the_send_spacing() -> None:
    pacer = SendPacer(0.001)
    slots = [pacer.next_slot(5.0) for _ in range(4)]
    assert slots == pytest.approx([5.0, 5.001, 5.002, 5.003])


def test_an_idle_pacer_sends_at_once() -> None:
    pacer = SendPacer(0.001)
    assert pacer.next_slot(5.0) == 5.0
    assert pacer.next_slot(9.0) == 9.0
    assert pacer.next_slot(9.0) == pytest.approx(9.001)


def test_zero_spacing_never_delays_and_negative_is_refused() -> None:
    pacer = SendPacer(0.0)
    assert [pacer.next_slot(1.0) for _ in range(3)] == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="spacing"):
        SendPacer(-1e-6)


@pytest.fixture
async def timer(nursery: trio.Nursery) -> WakeUpTimer:
    timer = WakeUpTimer(resolution=0.001)
    await nursery.start(timer.run)
    return timer


async def test_parked_tasks_wake_at_their_deadline_never_before(
    timer: WakeUpTimer, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    woke: dict[float, float] = {}

    async def sleeper(delay: float) -> None:
        await timer.sleep_until(start + delay)
        woke[delay] = trio.current_time() - start

    async with trio.open_nursery() as nursery:
        for delay in (3.0, 0.5, 1.0, 0.5005):
            nursery.start_soon(sleeper, delay)

    for delay, elapsed in woke.items():
        assert delay <= elapsed <= delay + 0.001 + 1e-9, (delay, elapsed)
    # Deadlines within one resolution step share one wake-up.
    assert woke[0.5] == woke[0.5005]


async def test_an_early_wake_ends_the_park_and_a_later_deadline_is_harmless(
    timer: WakeUpTimer, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    parked = timer.park_handle(start + 10.0)

    async def wake_soon() -> None:
        await trio.sleep(2.0)
        parked.wake()
        parked.wake()  # a second wake is a no-op, not a double reschedule

    async with trio.open_nursery() as nursery:
        nursery.start_soon(wake_soon)
        await timer.park(parked)
        assert trio.current_time() - start == pytest.approx(2.0)
    # The stale heap entry comes due later and must not disturb anybody.
    await timer.sleep_until(start + 11.0)
    assert trio.current_time() - start >= 11.0


async def test_a_cancelled_park_is_not_woken_later(
    timer: WakeUpTimer, autojump_clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    with trio.move_on_after(1.0):
        await timer.sleep_until(start + 5.0)
    assert trio.current_time() - start == pytest.approx(1.0)
    # If the timer rescheduled the cancelled task at 5 s, trio would fail this sleep.
    await trio.sleep(10.0)


async def test_parking_after_the_timer_stopped_is_an_error() -> None:
    timer = WakeUpTimer()
    async with trio.open_nursery() as nursery:
        await nursery.start(timer.run)
        nursery.cancel_scope.cancel()
    with pytest.raises(trio.ClosedResourceError):
        await timer.sleep_until(trio.current_time() + 1.0)
