"""Scheduled jobs: registration with pg_cron, execution by pg_cron and by the runners'
scheduler, one run per slot, and the `hookline cron` commands."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from hookline.migrator import Migrator
from tests.conftest import WITHOUT_CRON, Server, require
from tests.helpers import hookline
from tests.integration.conftest import RunnerProcess, wait_until


def create_pg_cron(server: Server) -> None:
    """The pg_cron extension, in the server's cron database (postgres)."""
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute("create extension if not exists pg_cron")


@pytest.fixture
def cron_server(server: Server) -> Iterator[Server]:
    """The test server with the pg_cron extension created in its cron database."""
    require(server.has_cron, "pg_cron (postgresql-15-cron)")
    create_pg_cron(server)
    yield server


def cron_jobs(server: Server, database: str) -> dict[str, str]:
    with psycopg.connect(server.dsn("postgres")) as conn:
        rows = conn.execute(
            "select jobname, schedule from cron.job where database = %s and jobname like 'hookline-%%'",
            (database,),
        )
        return dict(rows.fetchall())


def test_the_migration_registers_the_jobs_in_the_pg_cron_database(cron_server: Server) -> None:
    dsn = cron_server.dsn("postgres")
    migrator = Migrator(dsn)
    try:
        migrator.deploy()
        assert cron_jobs(cron_server, "postgres") == {
            "hookline-apply_retention": "37 * * * *",
            "hookline-maintain_partitions": "*/15 * * * *",
            "hookline-rescue_leases": "* * * * *",
            "hookline-snapshot_stats": "* * * * *",
            "hookline-evaluate_alerts": "* * * * *",
            "hookline-wake_due_retries": "* * * * *",
        }
        migrator.deploy()  # idempotent by job name
        with psycopg.connect(dsn) as conn:
            conn.execute("select hookline.set_job('apply_retention', '5 4 * * *')")
            conn.commit()
            assert {r[0] for r in conn.execute("select runs_in from hookline.jobs")} == {"pg_cron"}
        assert cron_jobs(cron_server, "postgres")["hookline-apply_retention"] == "5 4 * * *"
    finally:
        migrator.revert()
    assert cron_jobs(cron_server, "postgres") == {}


@pytest.mark.slow
def test_the_runners_and_pg_cron_fire_the_jobs(server: Server, db: str, other_db: str) -> None:
    """Two `hookline runner` processes run other_db's jobs (no pg_cron there); in the same
    minute pg_cron, when the server loads it, runs db's."""
    with_cron = server.has_cron
    if not with_cron and not WITHOUT_CRON:
        require(False, "pg_cron (postgresql-15-cron)")
    pg_cron_db = db.rsplit("/", 1)[1]
    if with_cron:
        create_pg_cron(server)
        schedule = hookline("cron", "schedule", "maintain_partitions", "* * * * *", "--dsn", db)
        assert schedule.returncode == 0
        registered = hookline("cron", "register", "--dsn", db)
        assert registered.returncode == 0, registered.stderr
        assert "registered hookline-maintain_partitions" in registered.stdout
        assert cron_jobs(server, pg_cron_db)["hookline-maintain_partitions"] == "* * * * *"

    with psycopg.connect(other_db, autocommit=True) as conn:
        conn.execute("select hookline.set_job('maintain_partitions', '* * * * *')")
        conn.execute(
            """create function hookline.exploding_job(now timestamptz default now()) returns text
               language plpgsql set search_path = '' as $$ begin raise exception 'boom'; end $$"""
        )
        conn.execute(
            "insert into hookline.jobs (job_name, schedule, description) values ('exploding_job', '* * * * *', 'x')"
        )

    runners = [RunnerProcess(other_db, f"runner-{i}") for i in range(2)]
    try:
        wait_until(lambda: job_runs(other_db) >= 2, timeout=80, what="the runners' jobs")
        time.sleep(1)  # let a late second runner try the same slot
        deadline = time.monotonic() + 80
        with psycopg.connect(db, autocommit=True) as conn:
            if not with_cron:
                deadline = 0  # nothing fires db's jobs in this run
            while time.monotonic() < deadline:
                ran = conn.execute(
                    "select from hookline.job_runs where job_name = 'maintain_partitions'"
                ).fetchall()
                if ran:
                    break
                time.sleep(0.5)
            runs = conn.execute("select distinct run_by, status from hookline.job_runs").fetchall()
            failures = conn.execute(
                "select job_name, message from hookline.job_runs where status = 'failed'"
            ).fetchall()
        assert runs == ([("pg_cron", "succeeded")] if with_cron else []), failures
    finally:
        for runner in runners:
            runner.stop()
        if with_cron:
            assert hookline("cron", "unregister", "--dsn", db).returncode == 0
    if with_cron:
        assert cron_jobs(server, pg_cron_db) == {}

    with psycopg.connect(other_db) as conn:
        runs = conn.execute(
            "select distinct on (job_name) job_name, scheduled_for, run_by, status, message"
            " from hookline.job_runs where job_name in ('exploding_job', 'maintain_partitions')"
            " order by job_name, scheduled_for"
        ).fetchall()
    assert [(r[0], r[3]) for r in runs] == [
        ("exploding_job", "failed"),
        ("maintain_partitions", "succeeded"),
    ]
    assert runs[0][1] == runs[1][1], "both jobs fired for the same minute"
    assert runs[0][4] == "P0001: boom", "the failure is recorded and did not stop the other job"
    assert {r[2] for r in runs} <= {"runner-0", "runner-1"}


def job_runs(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select count(*) from hookline.job_runs where job_name in ('exploding_job', 'maintain_partitions')"
        ).fetchone()[0]


def test_one_slot_runs_once_across_sessions(db: str) -> None:
    slot = dt.datetime(2026, 4, 1, 10, 15, tzinfo=dt.UTC)
    barrier = threading.Barrier(4)
    results: list[str] = []

    def fire(name: str) -> None:
        with psycopg.connect(db, autocommit=True) as conn:
            barrier.wait()
            results.append(
                conn.execute(
                    "select hookline.run_job('maintain_partitions', %s, %s)", (slot, name)
                ).fetchone()[0]
            )

    threads = [threading.Thread(target=fire, args=(f"runner-{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["skipped", "skipped", "skipped", "succeeded"]


def test_cron_list_and_run(db: str) -> None:
    listed = hookline("cron", "list", "--dsn", db)
    assert listed.returncode == 0
    assert "maintain_partitions    */15 * * * *   runner   never" in listed.stdout
    ran = hookline("cron", "run", "maintain_partitions", "--dsn", db)
    assert ran.returncode == 0
    assert ran.stdout.startswith("maintain_partitions: succeeded: created ")
    listed = hookline("cron", "list", "--json", "--dsn", db)
    jobs = {j["job_name"]: j for j in __import__("json").loads(listed.stdout)}
    assert jobs["maintain_partitions"]["last_status"] == "succeeded"
    assert jobs["apply_retention"]["last_status"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("run", "nope"), "hookline: unknown job 'nope'\n"),
        (
            ("schedule", "maintain_partitions", "every minute"),
            "hookline: invalid cron schedule 'every minute'",
        ),
        (("schedule", "nope", "* * * * *"), "hookline: unknown job 'nope'\n"),
    ],
)
def test_cron_bad_input_is_one_line(db: str, args: tuple[str, ...], message: str) -> None:
    run = hookline("cron", *args, "--dsn", db)
    assert run.returncode == 1
    assert run.stderr.startswith(message)
    assert run.stderr.count("\n") == 1


def test_maintenance_does_not_wait_behind_an_open_ingest(db: str, tenant_source: str) -> None:
    """A busy table's partition is postponed, never waited for: a maintenance transaction that
    held one parent's lock while queueing for another's could deadlock with ingest or claim."""
    later = dt.datetime(2031, 6, 1, 12, tzinfo=dt.UTC)
    with psycopg.connect(db) as ingest, psycopg.connect(db, autocommit=True) as maint:
        ingest.execute(
            "select hookline.ingest(%s, 'w1', 'whatsapp.message.text', '{}', null, %s)",
            (tenant_source, later),
        )  # open transaction: events is locked for writing, as during any POST
        started = time.monotonic()
        summary = maint.execute("select hookline.maintain_partitions(%s)", (later,)).fetchone()[0]
        assert time.monotonic() - started < 5, "maintenance must not wait for the ingest"
        created = {
            r[0] for r in maint.execute("select relname from pg_class where relname ~ '_p2031'")
        }
        assert "attempts_p20310601" in created, "tables that are not busy get their partitions"
        assert "events_p20310601" not in created, "the busy table's partition is postponed"
        assert summary.startswith("created ")
        ingest.commit()
        maint.execute("select hookline.maintain_partitions(%s)", (later,))
        row = maint.execute(
            "select tableoid::regclass::text from hookline.events where external_id = 'w1'"
        ).fetchone()
        assert row == ("hookline.events_p20310601",), "the next run creates it and moves the row in"
