"""A server that answers and refuses a connection (a changed password): at start-up an error at
once; once running, a reconnect it refuses is retried, loudly, until it is accepted again
(docs/resilience.md, "Refused after the start"). On a server of this module's own, with
password authentication (the shared test server trusts every connection)."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from hookline.metrics import DatabaseGauges
from hookline.migrator import Migrator
from hookline.pgcluster import LocalPostgres
from tests.ingress_helpers import Proxy, announced_metrics_url
from tests.integration.conftest import RunnerProcess, wait_until
from tests.integration.test_runner import add_endpoint, ingest, queued
from tests.target import Target


@pytest.fixture(scope="module")
def with_passwords() -> Iterator[tuple[str, str]]:
    """A database with the schema, a tenant and a source on a server that asks for passwords;
    yields (the superuser's DSN, runner_svc's DSN with its password 'first')."""
    root = Path(tempfile.mkdtemp(prefix="hookline-password-pg-"))
    pg = LocalPostgres(root, durable=False, password=True, cron=False)
    pg.start()
    try:
        with psycopg.connect(pg.dsn(), autocommit=True) as admin:
            admin.execute("create database refusals")
        dsn = pg.dsn("refusals")
        Migrator(dsn).deploy()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("create role runner_svc login password 'first' in role hookline_runner")
            conn.execute("insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme')")  # fmt: skip
            conn.execute(
                "insert into hookline.sources (tenant_id, name, kind, signing_secrets, verify_token) "
                "values ('acme', 'acme-wa', 'whatsapp', '{app-secret}', 'verify-me')"
            )
        yield dsn, f"postgresql://runner_svc:first@127.0.0.1:{pg.port}/refusals?sslmode=disable"
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def database_up(url: str) -> str | None:
    """hookline_metrics_database_up as the runner's metrics endpoint serves it now."""
    found = re.search(
        r"^hookline_metrics_database_up (\S+)$", httpx.get(url, timeout=30).text, re.M
    )
    return found[1] if found else None


@pytest.mark.slow  # the error line comes after 10 s of outage
def test_a_password_changed_under_a_running_runner_is_retried_loudly_until_it_works_again(
    with_passwords: tuple[str, str], target: Target
) -> None:
    # A sidecar whose password is rotated before its secret (or whose role is dropped and made
    # again) keeps running: it cannot deliver, says so on an error line every minute with the
    # server's own words, serves hookline_metrics_database_up 0 (the alert
    # HooklineMetricsDatabaseDown), and delivers again as soon as the server takes it, without
    # a restart. Before, its metrics endpoint answered 500 (the failed connect escaped the
    # gauge's read), and no line said more than the first warning.
    dsn, runner_dsn = with_passwords
    with psycopg.connect(dsn, autocommit=True) as conn:
        add_endpoint(conn, "rotated", target.url("/rotated"))
        runner = RunnerProcess(runner_dsn, "rotated")
        try:
            metrics = announced_metrics_url(runner.log)
            ingest(conn, "rotated", 1)
            wait_until(lambda: queued(conn) == 0, what="the first delivery")
            assert database_up(metrics) == "1.0"

            conn.execute("alter role runner_svc password 'second'")
            conn.execute("select pg_terminate_backend(pid) from pg_stat_activity where usename = 'runner_svc'")  # fmt: skip
            wait_until(
                lambda: "ERROR hookline.db: deliveries listener: database unreachable for" in runner.output(),
                what="the error line",
            )  # fmt: skip
            assert 'password authentication failed for user "runner_svc"' in runner.output()
            wait_until(lambda: database_up(metrics) == "0.0", what="database_up 0")
            assert runner.proc.poll() is None, runner.output()

            ingest(conn, "rotated", 1, first=2)
            conn.execute("alter role runner_svc password 'first'")
            wait_until(lambda: queued(conn) == 0, what="the delivery after the password is back")
            assert "reconnected after" in runner.output()
            runner.signal(signal.SIGTERM)
            assert runner.wait(60) == 0, runner.output()
        finally:
            runner.stop()


def test_a_one_shot_command_connects_once_and_the_start_up_asks_again(
    with_passwords: tuple[str, str],
) -> None:
    # The refusal's SQLSTATE (a second connection, hookline.db.refusal_sqlstate) is asked by
    # the start-up checks only, which need it (28P01: an error at once; 53300: a wait). A
    # one-shot command refused by the server fails after one attempt (it made two).
    dsn, runner_dsn = with_passwords
    port = psycopg.conninfo.conninfo_to_dict(dsn)["port"]
    proxy = Proxy(int(port))
    wrong = runner_dsn.replace(":first@", ":wrong@").replace(f":{port}/", f":{proxy.port}/")
    try:
        status = subprocess.run(
            [sys.executable, "-m", "hookline", "db", "status", "--dsn", wrong],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert status.returncode == 1, status.stderr
        assert "password authentication failed" in status.stderr, status.stderr
        assert proxy.accepted == 1
        start = subprocess.run(
            [sys.executable, "-m", "hookline", "runner", "--dsn", wrong, "--metrics-port", "0"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert start.returncode == 1, start.stderr
        assert "waiting" not in start.stderr, start.stderr
        assert proxy.accepted == 3  # the runner's check, then the question why
    finally:
        proxy.close()


def test_the_database_gauge_reads_0_while_the_connect_is_refused(
    with_passwords: tuple[str, str],
) -> None:
    # The scrape thread's connect (hookline.db.connect) fails with ConnectFailed, not a
    # psycopg error: it used to escape the read, and the metrics endpoint answered 500
    # instead of hookline_metrics_database_up 0.
    _dsn, runner_dsn = with_passwords
    gauges = DatabaseGauges(runner_dsn.replace(":first@", ":wrong@"))
    up = next(iter(gauges.collect()))
    assert [(s.name, s.value) for s in up.samples] == [("hookline_metrics_database_up", 0.0)]
