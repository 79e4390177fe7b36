"""What a poll worker inherits from the daemon, and how its log records come out. Pure."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import netwatch
from netwatch.logformat import JsonFormatter
from netwatch.workers.messages import LogEntry
from netwatch.workers.pool import (
    FIRST_RESTART_DELAY,
    MAX_RESTART_DELAY,
    STABLE_AFTER,
    describe_exit,
    emit_worker_record,
    restart_delay,
    worker_environment,
)


def test_the_environment_keeps_what_python_and_the_resolver_need_and_nothing_else() -> None:
    daemon = {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C",
        "RES_OPTIONS": "timeout:1",
        "PYTHONPATH": "/opt/extra",
        "NETWATCH_ROUTING_KEY": "R0123",  # what "env:NAME" references point at
        "SNMP_COMMUNITY": "s3cret",
        "AWS_SECRET_ACCESS_KEY": "x",
    }
    worker = worker_environment(daemon)
    package_root = str(Path(netwatch.__file__).resolve().parent.parent)
    assert worker == {
        "PATH": "/usr/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C",
        "RES_OPTIONS": "timeout:1",
        "PYTHONPATH": f"{package_root}:/opt/extra",
    }


@pytest.mark.parametrize(
    ("returncode", "said"),
    [
        (-9, "was killed by SIGKILL"),
        (-15, "was killed by SIGTERM"),
        (1, "exited with status 1"),
        (0, "exited with status 0"),
        (None, "stopped answering"),
    ],
)
def test_describe_exit(returncode: int | None, said: str) -> None:
    assert describe_exit(returncode) == said


def test_restarts_back_off_while_a_worker_keeps_dying_and_start_over_once_it_lived() -> None:
    delays = []
    previous = None
    for _ in range(10):  # dying right after each start
        previous = restart_delay(previous, ran_for=1.0)
        delays.append(previous)
    assert delays[:4] == [FIRST_RESTART_DELAY * 2**n for n in range(4)]
    assert delays == sorted(delays) and delays[-1] == MAX_RESTART_DELAY
    assert restart_delay(MAX_RESTART_DELAY, ran_for=STABLE_AFTER) == FIRST_RESTART_DELAY
    assert restart_delay(4.0, ran_for=STABLE_AFTER - 1) == 8.0


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("netwatch.poller")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)


def test_a_worker_record_comes_out_in_the_daemon_format_with_its_traceback(
    json_lines: io.StringIO,
) -> None:
    emit_worker_record(
        LogEntry("netwatch.poller", logging.ERROR, "poll of a failed", 1_700_000_000.25, "Tb!"),
        worker=1,
        pid=4242,
    )
    emit_worker_record(
        LogEntry("netwatch.poller", logging.DEBUG, "below the daemon's level", 1.0), 1, 4242
    )
    lines = [json.loads(line) for line in json_lines.getvalue().splitlines()]
    assert lines == [
        {
            "time": "2023-11-14T22:13:20.250+00:00",
            "level": "error",
            "logger": "netwatch.poller",
            "message": "poll of a failed",
            "exception": "Tb!",
        }
    ]
