"""`netwatch run` as a real process, for tests of how it starts and stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
