"""`netwatch run` as a real process, for tests of how it starts and stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest


def start_daemon(
    config: Path, *options: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """`python -m netwatch.cli [options] run --config CONFIG`, stdout and stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "netwatch.cli", *options, "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
    )


def wait_for_log(process: subprocess.Popen[str], text: str, limit: float = 30.0) -> None:
    assert process.stderr is not None
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if text in process.stderr.readline():
            return
    pytest.fail(f"the daemon never logged {text!r}")


def stop(process: subprocess.Popen[str], stop_signal: signal.Signals) -> tuple[str, str, float]:
    """Send the signal; (stdout, rest of stderr, seconds until it exited)."""
    process.send_signal(stop_signal)
    stopped_at = time.monotonic()
    out, err = process.communicate(timeout=10)
    return out, err, time.monotonic() - stopped_at


_D = TypeVar("_D", bound="FileLoggedDaemon")
WAIT_LIMIT = 30.0  # generous: a limit for a hung daemon, not a measurement


class FileLoggedDaemon:
    """`netwatch run` (in the inventory's folder) with stdout and stderr in files there, for
    tests that run it long or kill it: a pipe nobody reads would stall it."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.out_path = config.parent / f"out-{time.monotonic_ns()}.txt"
        self.err_path = self.out_path.with_suffix(".err")
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "netwatch.cli", "run", "--config", str(config)],
                stdout=out,
                stderr=err,
                cwd=config.parent,
                env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
            )

    def wait_for(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT_LIMIT
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"daemon exited ({self.process.returncode}): {self.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} within {WAIT_LIMIT} s: {self.stderr()}")
            time.sleep(0.05)

    def kill_9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stderr(self) -> str:
        return self.err_path.read_text()[-3000:]


@contextmanager
def killed_on_exit(running: _D) -> Iterator[_D]:
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.kill_9()
