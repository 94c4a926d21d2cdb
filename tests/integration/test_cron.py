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
            "hookline-prune_dead_letters": "17 * * * *",
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
        name = f"hookline-{pg_cron_db}-maintain_partitions"
        assert f"registered {name}" in registered.stdout
        assert cron_jobs(server, pg_cron_db)[name] == "* * * * *"

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


def dbname(dsn: str) -> str:
    return dsn.rsplit("/", 1)[1]


def test_two_databases_register_apart_and_unregister_exactly_theirs(
    cron_server: Server, db: str, other_db: str
) -> None:
    """Registration is keyed by database: each database's jobs carry its name, a second
    registration changes nothing, and unregister removes exactly what register made."""
    first, second = dbname(db), dbname(other_db)
    with psycopg.connect(cron_server.dsn("postgres"), autocommit=True) as cron:
        # A job of the first release's name for the first database: register replaces it.
        cron.execute(
            "select cron.schedule_in_database('hookline-apply_retention', '1 1 * * *', 'select 1', %s)",
            (first,),
        )
    with psycopg.connect(db) as conn:  # every job of the schema, with its default schedule
        expected = dict(conn.execute("select job_name, schedule from hookline.jobs").fetchall())
    assert expected["apply_retention"] == "37 * * * *"
    n = len(expected)
    for dsn in (db, other_db, db):  # the second registration of db changes nothing
        run = hookline("cron", "register", "--dsn", dsn)
        assert run.returncode == 0, run.stderr
        assert run.stdout.count("registered hookline-") == n
    for name in (first, second):
        assert cron_jobs(cron_server, name) == {
            f"hookline-{name}-{j}": s for j, s in expected.items()
        }

    # A schedule changed in the second database and registered again leaves the first alone.
    assert (
        hookline("cron", "schedule", "apply_retention", "5 4 * * *", "--dsn", other_db).returncode
        == 0
    )
    assert hookline("cron", "register", "--dsn", other_db).returncode == 0
    assert cron_jobs(cron_server, second)[f"hookline-{second}-apply_retention"] == "5 4 * * *"
    assert cron_jobs(cron_server, first)[f"hookline-{first}-apply_retention"] == "37 * * * *"

    run = hookline("cron", "unregister", "--dsn", db)
    assert run.stdout == f"unregistered {n} pg_cron job(s)\n", run.stderr
    assert cron_jobs(cron_server, first) == {}
    assert len(cron_jobs(cron_server, second)) == n, "the other database keeps its jobs"
    with psycopg.connect(db) as conn:
        assert {r[0] for r in conn.execute("select runs_in from hookline.jobs")} == {"runner"}
    assert hookline("cron", "unregister", "--dsn", db).stdout == "unregistered 0 pg_cron job(s)\n"
    assert (
        hookline("cron", "unregister", "--dsn", other_db).stdout
        == f"unregistered {n} pg_cron job(s)\n"
    )
    assert cron_jobs(cron_server, second) == {}


def test_in_pg_crons_database_registration_follows_runs_in(cron_server: Server) -> None:
    """Where pg_cron lives, the trigger keeps pg_cron in step; unregister hands the jobs to the
    runners for good (a schedule change does not take them back), register returns them."""
    dsn = cron_server.dsn("postgres")
    migrator = Migrator(dsn)
    try:
        migrator.deploy()
        with psycopg.connect(dsn) as conn:
            n = conn.execute("select count(*) from hookline.jobs").fetchone()[0]
        assert len(cron_jobs(cron_server, "postgres")) == n
        assert (
            hookline("cron", "unregister", "--dsn", dsn).stdout
            == f"unregistered {n} pg_cron job(s)\n"
        )
        assert cron_jobs(cron_server, "postgres") == {}
        assert (
            hookline("cron", "schedule", "apply_retention", "5 4 * * *", "--dsn", dsn).returncode
            == 0
        )
        assert cron_jobs(cron_server, "postgres") == {}, "still the runners'"
        assert hookline("cron", "register", "--dsn", dsn).returncode == 0
        assert cron_jobs(cron_server, "postgres")["hookline-apply_retention"] == "5 4 * * *"
    finally:
        migrator.revert()
    assert cron_jobs(cron_server, "postgres") == {}


def test_cron_list_shows_pg_crons_failed_calls(cron_server: Server, db: str) -> None:
    """pg_cron's own record (cron.job_run_details) is shown: a call that never reached the
    database (the run history of hookline cannot know) is named on stderr."""
    # Registered at a minute 12 h away: a real call of rescue_leases (every minute by default)
    # after the failed one below would be the last call listed.
    now = dt.datetime.now(dt.UTC)
    away = f"{now.minute} {(now.hour + 12) % 24} * * *"
    assert hookline("cron", "schedule", "rescue_leases", away, "--dsn", db).returncode == 0
    assert hookline("cron", "register", "--dsn", db).returncode == 0
    name = f"hookline-{dbname(db)}-rescue_leases"
    with psycopg.connect(cron_server.dsn("postgres"), autocommit=True) as cron:
        # What pg_cron writes when it cannot log in to run a job.
        cron.execute(
            """insert into cron.job_run_details
                 (jobid, runid, job_pid, database, username, command, status, return_message,
                  start_time, end_time)
               select jobid, nextval('cron.runid_seq'), 0, database, username, command, 'failed',
                 'connection failed', now(), now()
               from cron.job where jobname = %s""",
            (name,),
        )
    try:
        listed = hookline("cron", "list", "--dsn", db)
        assert listed.returncode == 0
        assert f"pg_cron {name} called " in listed.stdout
        assert ": failed: connection failed" in listed.stdout
        assert (
            "hookline: rescue_leases: pg_cron's last call failed: connection failed\n"
            in listed.stderr
        )
        as_json = hookline("cron", "list", "--json", "--dsn", db)
        job = next(
            j for j in __import__("json").loads(as_json.stdout) if j["job_name"] == "rescue_leases"
        )
        assert (job["cron_last_status"], job["cron_last_message"]) == (
            "failed",
            "connection failed",
        )
    finally:
        hookline("cron", "unregister", "--dsn", db)


@pytest.mark.slow
def test_pg_cron_runs_the_jobs_of_two_databases(
    cron_server: Server, db: str, other_db: str
) -> None:
    """Real pg_cron (background workers) runs each registered database's jobs in it."""
    for dsn in (db, other_db):
        assert (
            hookline(
                "cron", "schedule", "maintain_partitions", "* * * * *", "--dsn", dsn
            ).returncode
            == 0
        )
        assert hookline("cron", "register", "--dsn", dsn).returncode == 0

    def ran(dsn: str) -> bool:
        with psycopg.connect(dsn) as conn:
            return conn.execute(
                "select exists (select from hookline.job_runs where run_by = 'pg_cron'"
                " and job_name = 'maintain_partitions' and status = 'succeeded')"
            ).fetchone()[0]

    try:
        wait_until(lambda: ran(db) and ran(other_db), timeout=130, what="pg_cron's runs")
        listed = hookline("cron", "list", "--dsn", db)
        name = f"hookline-{dbname(db)}-maintain_partitions"
        assert f"pg_cron {name} called " in listed.stdout, listed.stdout
        calls = [ln for ln in listed.stdout.splitlines() if " called " in ln]
        assert calls and not any(": failed" in ln for ln in calls), listed.stdout
        assert listed.stderr == "", "no failed call, no stale job"
    finally:
        for dsn in (db, other_db):
            hookline("cron", "unregister", "--dsn", dsn)


def test_a_job_without_a_scheduled_success_is_reported_stale(db: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        # As just deployed (the suite's template was deployed minutes ago).
        conn.execute("update hookline.jobs set scheduled_since = now()")
        assert conn.execute("select * from hookline.stale_jobs()").fetchall() == [], "fresh jobs"
        conn.execute(
            "update hookline.jobs set scheduled_since = now() - interval '3 minutes'"
            " where job_name = 'rescue_leases'"
        )
        conn.execute("update hookline.jobs set scheduled_since = now() - interval '20 minutes'"
                     " where job_name = 'maintain_partitions'")  # fmt: skip
        conn.execute("set role hookline_operator")
        stale = conn.execute(
            "select job_name, expected_every from hookline.stale_jobs()"
        ).fetchall()
        assert stale == [("rescue_leases", dt.timedelta(minutes=1))]
        conn.execute("reset role")
    listed = hookline("cron", "list", "--dsn", db)
    assert "hookline: rescue_leases: no scheduled run succeeded since " in listed.stderr
    stats = hookline("stats", "--dsn", db)
    assert stats.returncode == 0, stats.stderr
    assert "stale jobs:            rescue_leases (runs in runner" in stats.stdout
    # A manual run proves nothing about the scheduler; a runner's run does.
    assert hookline("cron", "run", "rescue_leases", "--dsn", db).returncode == 0
    assert "rescue_leases" in hookline("stats", "--dsn", db).stdout.split("stale jobs:")[1]
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select hookline.run_job('rescue_leases', now(), 'runner-1')")
    assert "stale jobs:            none" in hookline("stats", "--dsn", db).stdout


@pytest.mark.parametrize(
    ("schedule", "every"),
    [
        ("* * * * *", "00:01:00"), ("*/15 * * * *", "00:15:00"), ("37 * * * *", "01:00:00"),
        ("0,30 * * * *", "00:30:00"), ("1-10 * * * *", "00:51:00"), ("5 4 * * *", "1 day"),
        ("0 */6 * * *", "06:00:00"), ("0 9 * * 1", "7 days"), ("0 0 1 * *", "31 days"),
    ],
)  # fmt: skip
def test_schedule_interval(conn: psycopg.Connection, schedule: str, every: str) -> None:
    got = conn.execute(
        "select hookline._schedule_interval(%s) = %s::interval", (schedule, every)
    ).fetchone()
    assert got == (True,)


def test_the_deploy_creates_todays_and_the_premade_partitions(db: str) -> None:
    with psycopg.connect(db) as conn:
        missing = conn.execute(
            """select p.table_name, d::date from hookline.partition_policies p,
                 generate_series((now() at time zone 'UTC')::date, (now() at time zone 'UTC')::date + p.premake_days, '1 day') d
               where to_regclass(format('hookline.%I_p%s', p.table_name, to_char(d, 'YYYYMMDD'))) is null"""
        ).fetchall()
        assert missing == []
