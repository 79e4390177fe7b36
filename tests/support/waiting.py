"""Waiting, in trio tests, for something another thread or process does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio


async def wait_until(condition: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    step = 0.05
    for _ in range(round(limit / step)):
        if condition():
            return
        await trio.sleep(step)
    pytest.fail(f"gave up waiting for: {what}")
