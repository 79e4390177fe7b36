"""Length-prefixed pickle frames: how the daemon and its poll workers talk over pipes. Pure.

Pickle is fine here because both ends are netwatch itself: a worker is the daemon's own child,
started from the same installation, and nothing else can write to its pipes.
"""

from __future__ import annotations

import pickle
import struct

_LENGTH = struct.Struct(">I")
HEADER_SIZE = _LENGTH.size
MAX_FRAME = (1 << 32) - 1  # what the 4-byte length can say; a whole shard's devices fit easily


class FrameError(Exception):
    """A frame that cannot be sent, or a stream that is not a sequence of frames."""


def encode_frame(message: object) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    if len(body) > MAX_FRAME:
        raise FrameError(f"a {len(body)}-byte message does not fit in one frame")
    return _LENGTH.pack(len(body)) + body


class FrameDecoder:
    """Bytes in as they arrive (any split), whole messages out, in order."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received that do not make a whole frame yet."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray) -> list[object]:
        self._buffer += data
        messages: list[object] = []
        start = 0
        buffer = self._buffer
        while len(buffer) - start >= HEADER_SIZE:
            (length,) = _LENGTH.unpack_from(buffer, start)
            end = start + HEADER_SIZE + length
            if len(buffer) < end:
                break
            try:
                messages.append(pickle.loads(buffer[start + HEADER_SIZE : end]))
            except Exception as error:  # any unpickling failure means the stream is corrupt
                raise FrameError(f"undecodable frame of {length} bytes: {error}") from None
            start = end
        del buffer[:start]
        return messages
