"""Scheduled jobs: registration with pg_cron, execution by pg_cron and by the runners'
scheduler, one run per slot, and the `hookline cron` commands."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from hookline.migrator import Migrator
from hookline.scheduler import run_scheduler
from tests.conftest import Server, require
from tests.helpers import hookline


@pytest.fixture
def cron_server(server: Server) -> Iterator[Server]:
    """The test server with the pg_cron extension created in its cron database (postgres)."""
    require(server.has_cron, "pg_cron (postgresql-15-cron)")
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute("create extension if not exists pg_cron")
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
        }
        migrator.deploy()  # idempotent by job name
        with psycopg.connect(dsn) as conn:
            conn.execute("select hookline.set_job_schedule('apply_retention', '5 4 * * *')")
            conn.commit()
            assert {r[0] for r in conn.execute("select runs_in from hookline.jobs")} == {"pg_cron"}
        assert cron_jobs(cron_server, "postgres")["hookline-apply_retention"] == "5 4 * * *"
    finally:
        migrator.revert()
    assert cron_jobs(cron_server, "postgres") == {}


@pytest.mark.slow
def test_pg_cron_and_the_runners_fire_the_jobs(cron_server: Server, db: str, other_db: str) -> None:
    """pg_cron runs one database's jobs, two runner schedulers the other's, in the same minute."""
    pg_cron_db = db.rsplit("/", 1)[1]
    assert (
        hookline("cron", "schedule", "maintain_partitions", "* * * * *", "--dsn", db).returncode
        == 0
    )
    registered = hookline("cron", "register", "--dsn", db)
    assert registered.returncode == 0, registered.stderr
    assert "registered hookline-maintain_partitions" in registered.stdout
    assert cron_jobs(cron_server, pg_cron_db)["hookline-maintain_partitions"] == "* * * * *"

    with psycopg.connect(other_db, autocommit=True) as conn:
        conn.execute("select hookline.set_job_schedule('maintain_partitions', '* * * * *')")
        conn.execute(
            """create function hookline.exploding_job(now timestamptz default now()) returns text
               language plpgsql set search_path = '' as $$ begin raise exception 'boom'; end $$"""
        )
        conn.execute(
            "insert into hookline.jobs (job_name, schedule, description) values ('exploding_job', '* * * * *', 'x')"
        )

    async def two_runners() -> None:
        stop = asyncio.Event()
        pools = [
            AsyncConnectionPool(other_db, min_size=1, max_size=2, open=False) for _ in range(2)
        ]
        for pool in pools:
            await pool.open()
        tasks = [
            asyncio.create_task(run_scheduler(p, f"runner-{i}", stop)) for i, p in enumerate(pools)
        ]
        deadline = time.monotonic() + 80
        try:
            while time.monotonic() < deadline:
                async with pools[0].connection() as conn:
                    cur = await conn.execute("select count(*) from hookline.job_runs")
                    if (await cur.fetchone())[0] >= 2:
                        break
                await asyncio.sleep(0.5)
            await asyncio.sleep(1)  # let a late second runner try the same slot
        finally:
            stop.set()
            await asyncio.gather(*tasks)
            for pool in pools:
                await pool.close()

    try:
        asyncio.run(two_runners())
        deadline = time.monotonic() + 80
        with psycopg.connect(db, autocommit=True) as conn:
            while time.monotonic() < deadline:
                runs = conn.execute("select run_by, status from hookline.job_runs").fetchall()
                if runs:
                    break
                time.sleep(0.5)
        assert runs == [("pg_cron", "succeeded")], "pg_cron ran the job in the registered database"
    finally:
        assert hookline("cron", "unregister", "--dsn", db).returncode == 0
    assert cron_jobs(cron_server, pg_cron_db) == {}

    with psycopg.connect(other_db) as conn:
        runs = conn.execute(
            "select job_name, scheduled_for, run_by, status, message from hookline.job_runs order by 1"
        ).fetchall()
    assert [(r[0], r[3]) for r in runs] == [
        ("exploding_job", "failed"),
        ("maintain_partitions", "succeeded"),
    ]
    assert runs[0][1] == runs[1][1], "both jobs fired for the same minute"
    assert runs[0][4] == "P0001: boom", "the failure is recorded and did not stop the other job"
    assert {r[2] for r in runs} <= {"runner-0", "runner-1"}


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
