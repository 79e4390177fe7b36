"""Length-prefixed pickle frames between the daemon and its poll workers."""

from __future__ import annotations

import pickle

import pytest
import trio
import trio.testing

from netwatch.samples import PingResult, Sample, SnmpError, SnmpErrorKind, SnmpReading
from netwatch.workers.channel import FrameSender, receive_messages
from netwatch.workers.framing import HEADER_SIZE, FrameDecoder, FrameError, encode_frame
from netwatch.workers.messages import Answer, LogEntry, Poll

SAMPLE = Sample(
    "tower-1/radio-2",
    1_700_000_000.5,
    ping=PingResult("127.0.0.1", 3, 2, (0.1, 0.2)),
    snmp=SnmpReading(error=SnmpError(SnmpErrorKind.TIMEOUT, "no response"), profile="airos"),
)
MESSAGES: list[object] = [
    Poll(0, "tower-1/radio-2"),
    Answer(0, SAMPLE),
    Answer(1, None),
    LogEntry("netwatch.poller", 30, "tower-1: rebooted", 1.5, "Traceback ..."),
    "x" * 100_000,  # bigger than one read
]


def test_frames_survive_any_split_of_the_stream() -> None:
    stream = b"".join(encode_frame(m) for m in MESSAGES)
    for cut in [*range(0, 40), *range(len(stream) - 40, len(stream) + 1), len(stream) // 2]:
        decoder = FrameDecoder()
        decoded = decoder.feed(stream[:cut]) + decoder.feed(stream[cut:])
        assert decoded == MESSAGES, cut
        assert decoder.pending == 0


def test_byte_by_byte() -> None:
    decoder = FrameDecoder()
    decoded = []
    for byte in b"".join(encode_frame(m) for m in MESSAGES[:4]):
        decoded += decoder.feed(bytes([byte]))
    assert decoded == MESSAGES[:4]


@pytest.mark.parametrize(
    ("stream", "pending"),
    [
        (b"", 0),
        (b"\x00\x00", 2),  # half a header
        (encode_frame("abc")[:-1], len(encode_frame("abc")) - 1),  # a frame short of its end
    ],
)
def test_an_incomplete_frame_waits(stream: bytes, pending: int) -> None:
    decoder = FrameDecoder()
    assert decoder.feed(stream) == []
    assert decoder.pending == pending


def test_a_corrupt_frame_is_an_error() -> None:
    body = b"not a pickle"
    with pytest.raises(FrameError, match="undecodable"):
        FrameDecoder().feed(len(body).to_bytes(HEADER_SIZE, "big") + body)


def test_the_header_counts_the_body() -> None:
    frame = encode_frame(SAMPLE)
    assert int.from_bytes(frame[:HEADER_SIZE], "big") == len(frame) - HEADER_SIZE
    assert pickle.loads(frame[HEADER_SIZE:]) == SAMPLE


async def test_sender_and_receiver_over_a_stream() -> None:
    sending, receiving = trio.testing.memory_stream_one_way_pair()
    sender = FrameSender(sending)
    received: list[object] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(sender.run)
        for message in MESSAGES:
            sender.send_nowait(message)
        await sender.drained()
        await sending.aclose()
        async for message in receive_messages(receiving):
            received.append(message)
        nursery.cancel_scope.cancel()
    assert received == MESSAGES


async def test_a_stream_that_ends_inside_a_frame_is_an_error() -> None:
    sending, receiving = trio.testing.memory_stream_one_way_pair()
    cut_short = encode_frame("cut short")[:-3]
    await sending.send_all(encode_frame("complete") + cut_short)
    await sending.aclose()
    received = []
    with pytest.raises(FrameError, match=f"ended {len(cut_short)} bytes into a frame"):
        async for message in receive_messages(receiving):
            received.append(message)
    assert received == ["complete"]
