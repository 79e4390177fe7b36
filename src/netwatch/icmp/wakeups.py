"""Parking many tasks until a deadline, woken by one timer task instead of one cancel scope each.

With ten thousand probes in flight, a trio cancel scope (or `trio.sleep`) per wait was most of
the pinger's CPU: each expiry raises and catches a Cancelled through several frames. Here a
waiting task parks with `wait_task_rescheduled` and one timer task wakes every parked task whose
deadline has passed; the reader wakes a probe early when its last reply arrives. Wake-ups are
coalesced to `resolution` seconds, always late rather than early, so a reply wait never ends
before its deadline.
"""

from __future__ import annotations

import heapq
import itertools
import math

import trio


class Parked:
    """One parked task; `wake()` from any task in the same trio run, at most once effective."""

    __slots__ = ("_task", "deadline", "woken")

    def __init__(self, task: trio.lowlevel.Task, deadline: float) -> None:
        self._task = task
        self.deadline = deadline
        self.woken = False

    def wake(self) -> None:
        if not self.woken:
            self.woken = True
            trio.lowlevel.reschedule(self._task)


class WakeUpTimer:
    def __init__(self, *, resolution: float = 0.001) -> None:
        self._resolution = resolution
        self._heap: list[tuple[float, int, Parked]] = []
        self._order = itertools.count()
        self._sleep_scope: trio.CancelScope | None = None
        self._running = False

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._running = True
        task_status.started()
        try:
            while True:
                self._wake_due(trio.current_time())
                next_deadline = self._heap[0][0] + self._resolution if self._heap else math.inf
                with trio.CancelScope(deadline=next_deadline) as scope:
                    self._sleep_scope = scope
                    await trio.sleep_forever()
                self._sleep_scope = None
        finally:
            self._running = False
            self._sleep_scope = None
            # Whoever is still parked must not hang: wake them, they see the service is gone.
            for _deadline, _order, parked in self._heap:
                parked.wake()
            self._heap.clear()

    def _wake_due(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            heapq.heappop(heap)[2].wake()

    def park_handle(self, deadline: float) -> Parked:
        """Register the current task to be woken at `deadline`; then `await park(handle)`.
        Split in two so the caller can hand the handle to whoever may wake it early."""
        parked = Parked(trio.lowlevel.current_task(), deadline)
        if deadline <= trio.current_time():
            parked.woken = True  # nothing to wait for; `park` only checkpoints
            return parked
        heapq.heappush(self._heap, (deadline, next(self._order), parked))
        scope = self._sleep_scope
        if scope is not None and deadline + self._resolution < scope.deadline:
            scope.deadline = deadline + self._resolution
        return parked

    async def park(self, parked: Parked) -> None:
        if parked.woken:
            await trio.lowlevel.checkpoint()
            return
        if not self._running:
            raise trio.ClosedResourceError("the wake-up timer is not running")

        def abort(_raise_cancel: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
            # Cancelled while parked: never reschedule this task again (its heap entry is
            # dropped lazily when it comes due).
            parked.woken = True
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    async def sleep_until(self, deadline: float) -> None:
        await self.park(self.park_handle(deadline))
