"""PagerDuty (or a proxy in front of it) misbehaving at the HTTP level, against a real
loopback server: the sender must neither hang nor lose the page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import trio

from netwatch.alerts import DeviceAlert, FailingCheck, Level
from netwatch.delivery import EventsApiSender, RetryPolicy
from netwatch.events import Event, trigger_event

ROUTING_KEY = "Rk0123456789abcdef0123456789abcd"
FAST = RetryPolicy(initial_backoff=0.05, multiplier=2.0, max_backoff=0.2, jitter=0.2)
ACCEPTED = (
    b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 62\r\n\r\n"
    b'{"status":"success","message":"Event processed","dedup_key":""}'
)
# A guard against hanging the suite, not a speed assertion: without the fix the sender waits
# for the trickling answer forever.
HANG_GUARD_SECONDS = 60


def trigger(device_id: str) -> Event:
    alert = DeviceAlert(
        device_id=device_id,
        name=device_id,
        address="192.0.2.1",
        site="tower-a",
        failing=(FailingCheck("cpu", Level.CRITICAL, 95.0, "%", 90.0),),
        since=1_796_306_088.0,
    )
    return trigger_event(alert, routing_key=ROUTING_KEY, now=1_796_306_148.0)


class TricklingServer:
    """The first connection gets a 202's headers and then its body one byte every 0.1 s (a
    stalled proxy); every later connection gets a proper 202."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        first = self.connections == 1
        try:
            await stream.receive_some(65536)
            if not first:
                await stream.send_all(ACCEPTED)
                return
            await stream.send_all(
                b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000\r\n\r\n"
            )
            for _ in range(HANG_GUARD_SECONDS * 10):  # bounded: stops by itself
                await stream.send_all(b" ")
                await trio.sleep(0.1)
        except trio.BrokenResourceError:
            pass
        finally:
            await stream.aclose()


@pytest.fixture
async def nursery() -> AsyncIterator[trio.Nursery]:
    async with trio.open_nursery() as nursery:
        yield nursery
        nursery.cancel_scope.cancel()


async def test_an_answer_trickling_in_forever_is_abandoned_and_the_page_retried(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    server = TricklingServer()
    await nursery.start(server.serve)
    sender = EventsApiSender(
        url=f"http://127.0.0.1:{server.port}/v2/enqueue", timeout=0.5, retry=FAST
    )
    await nursery.start(sender.run)
    sender.submit(trigger("core-rtr-1"))
    with trio.fail_after(HANG_GUARD_SECONDS):
        while sender.pending():  # noqa: ASYNC110
            await trio.sleep(0.01)
    assert server.connections == 2
    assert "did not take the trigger" in caplog.text
