"""A runner or an ingress started while the server has no connection slot free waits for one,
like a server that is down (docs/resilience.md, "Starting while the database is down"). The
server refuses the connection with 53300 ("sorry, too many clients already"), which psycopg
reports without a SQLSTATE; the start used to take it for a refusal that waiting would not
mend (a wrong password) and exit at once with status 1."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from hookline.db import REFUSED_THEN_ACCEPTED, refusal_sqlstate
from hookline.errors import ConnectFailed, is_transient
from hookline.pgcluster import LocalPostgres
from tests.helpers import hookline
from tests.integration.conftest import RunnerProcess, wait_until

LISTENING = "select exists (select from pg_stat_activity where query ilike 'listen%')"


@pytest.fixture
def small_server() -> Iterator[LocalPostgres]:
    """A server of its own with max_connections = 8, the schema deployed in database hookline."""
    root = Path(tempfile.mkdtemp(prefix="hookline-full-pg-"))
    pg = LocalPostgres(root, durable=False, password=False, cron=False)
    pg.init()
    with (pg.data / "postgresql.conf").open("a") as conf:
        conf.write("max_connections = 8\nsuperuser_reserved_connections = 0\n")
    pg.start()
    try:
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            conn.execute("create database hookline")
        deployed = hookline("db", "deploy", "--dsn", pg.dsn("hookline"))
        assert deployed.returncode == 0, deployed.stderr
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def fill(dsn: str) -> list[psycopg.Connection]:
    """Connections until the server refuses one: every slot taken."""
    held: list[psycopg.Connection] = []
    while True:
        try:
            held.append(psycopg.connect(dsn, autocommit=True))
        except psycopg.OperationalError as exc:
            assert "too many clients" in str(exc), exc
            return held


def test_a_runner_started_while_every_connection_slot_is_taken_waits_then_runs(
    small_server: LocalPostgres,
) -> None:
    # The user sees
    #   hookline: cannot connect to 127.0.0.1:PORT/hookline: connection failed: connection to
    #   server at "127.0.0.1", port PORT failed: FATAL:  sorry, too many clients already;
    #   waiting up to 60 s for it
    #   hookline: 127.0.0.1:PORT/hookline answered after 1.37 s
    # and the runner runs; it used to exit at once, status 1, with the first line's error.
    dsn = small_server.dsn("hookline")
    held = fill(dsn)
    runner = RunnerProcess(dsn, "r0", "--database-wait", "60")
    try:
        wait_until(
            lambda: "waiting up to 60 s for it" in runner.output() or runner.proc.poll() is not None,
            what="a wait or an exit",
        )  # fmt: skip
        assert runner.proc.poll() is None, runner.output()
        first = runner.output().splitlines()[0]
        assert first.startswith("hookline: cannot connect to 127.0.0.1:"), first
        assert "too many clients already; waiting up to 60 s for it" in first, first
        for conn in held:
            conn.close()
        wait_until(lambda: "answered after" in runner.output() or runner.proc.poll() is not None,
                   what="the runner's start")  # fmt: skip
        assert runner.proc.poll() is None, runner.output()
        with psycopg.connect(dsn, autocommit=True) as conn:
            wait_until(lambda: conn.execute(LISTENING).fetchone()[0], what="the runner's LISTEN")
        assert runner.proc.poll() is None, runner.output()
    finally:
        for conn in held:
            conn.close()
        runner.stop()


def test_a_refusal_that_waiting_does_not_mend_still_fails_at_once(
    small_server: LocalPostgres,
) -> None:
    """An unknown database (3D000, also without a SQLSTATE from psycopg) is not waited for."""
    dsn = small_server.dsn("no_such_database")
    runner = RunnerProcess(dsn, "r0", "--database-wait", "60")
    try:
        assert runner.wait(60) == 1, runner.output()
        assert 'database "no_such_database" does not exist' in runner.output()
        assert "waiting" not in runner.output()
    finally:
        runner.stop()


def test_a_slot_freed_between_the_refusal_and_the_second_try_is_waited_for(
    small_server: LocalPostgres,
) -> None:
    """A connect refused with 53300 is followed by a second try that asks for the SQLSTATE. When
    a slot frees in between, that try is accepted: the refusal was of the moment, and is
    retried (it used to be taken for a refusal waiting does not mend, and the start exited)."""
    dsn = small_server.dsn("hookline")
    assert refusal_sqlstate(dsn) == REFUSED_THEN_ACCEPTED  # a free slot: the try is accepted
    held = fill(dsn)
    try:
        assert refusal_sqlstate(dsn) == "53300"
    finally:
        for conn in held:
            conn.close()
    assert is_transient(ConnectFailed("refused, then a slot freed", sqlstate=REFUSED_THEN_ACCEPTED))
