"""Frames over a trio stream: a sender any task may queue on without waiting, and a receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import trio

from netwatch.workers.framing import FrameDecoder, FrameError, encode_frame

RECEIVE_SIZE = 1 << 16


class FrameSender:
    """`send_nowait` queues a message; `run` writes whatever is queued with one write, so a
    burst of answers costs one system call, not one each."""

    def __init__(self, stream: trio.abc.SendStream) -> None:
        self._stream = stream
        self._queued: list[bytes] = []
        self._wake = trio.Event()
        self._writing = False
        self._drained = trio.Event()

    def send_nowait(self, message: object) -> None:
        self._queued.append(encode_frame(message))
        self._wake.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            await self._wake.wait()
            self._wake = trio.Event()
            chunk = b"".join(self._queued)
            self._queued.clear()
            self._writing = True
            try:
                await self._stream.send_all(chunk)
            finally:
                self._writing = False
            if not self._queued:
                self._drained.set()
                self._drained = trio.Event()

    async def drained(self) -> None:
        """Until everything queued so far has been written (`run` must be running)."""
        if self._queued or self._writing:
            await self._drained.wait()


async def receive_messages(stream: trio.abc.ReceiveStream) -> AsyncIterator[object]:
    """Every message until the other end closes; FrameError if it closes inside a frame."""
    decoder = FrameDecoder()
    while True:
        data = await stream.receive_some(RECEIVE_SIZE)
        if not data:
            if decoder.pending:
                raise FrameError(f"the stream ended {decoder.pending} bytes into a frame")
            return
        for message in decoder.feed(data):
            yield message
