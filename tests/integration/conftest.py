"""Fixtures of the delivery tests: a scripted target server and runner processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.target import Target


@pytest.fixture
def target() -> Iterator[Target]:
    t = Target().start()
    yield t
    t.stop()


class RunnerProcess:
    def __init__(self, dsn: str, name: str, *args: str) -> None:
        self.name = name
        self.log = Path(tempfile.mkstemp(prefix=f"hookline-{name}-", suffix=".log")[1])
        env = {k: v for k, v in os.environ.items() if k not in ("HOOKLINE_DSN", "DATABASE_URL")}
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hookline", "runner", "--dsn", dsn, "--name", name,
                 "--poll", "1", "--metrics-port", "0", *args],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.unlink(missing_ok=True)


@pytest.fixture
def runners(db: str) -> Iterator[Callable[..., RunnerProcess]]:
    started: list[RunnerProcess] = []

    def start(name: str, *args: str) -> RunnerProcess:
        r = RunnerProcess(db, name, *args)
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


def wait_until(check: Callable[[], bool], timeout: float = 60, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def scalar(conn: psycopg.Connection, query: str, params: object = None) -> object:
    return conn.execute(query, params).fetchone()[0]
