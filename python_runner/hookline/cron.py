"""Scheduled jobs: list, run now, and hand them to pg_cron or back to the runners.

The jobs themselves are SQL functions run through `hookline.run_job`; this module only calls
them. When no pg_cron runs them, `hookline.scheduler` fires them from the runners.

pg_cron lives in one database of a server (`cron.database_name`). In that database the
trigger `_100_sync_pg_cron` keeps the jobs registered while `runs_in = 'pg_cron'`, so
register and unregister only flip `runs_in` there. For any other database they schedule and
unschedule the jobs in pg_cron's database with `cron.schedule_in_database`, under names
that carry the database (`hookline._cron_job_name`), so two databases never share a job.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import class_row

from hookline import queries
from hookline.db import connect
from hookline.errors import HooklineError, one_line, wrap_errors


@dataclass
class Job:
    job_name: str
    schedule: str
    runs_in: str
    is_enabled: bool
    description: str
    last_started_at: dt.datetime | None
    last_finished_at: dt.datetime | None
    last_status: str | None
    last_message: str | None
    cron_job_name: str
    stale_since: dt.datetime | None
    # pg_cron's own record of its last call (cron.job_run_details), for jobs pg_cron runs.
    cron_last_start: dt.datetime | None = None
    cron_last_status: str | None = None
    cron_last_message: str | None = None


@dataclass
class Listing:
    jobs: list[Job]
    cron_note: str | None = None  # why pg_cron's history is missing, if it is
    problems: list[str] = field(default_factory=list)


def jobs(conn: psycopg.Connection) -> list[Job]:
    with conn.cursor(row_factory=class_row(Job)) as cur:
        return cur.execute(queries.JOB_STATUS).fetchall()


def listing(dsn: str) -> Listing:
    """The jobs with their last runs, pg_cron's record of its calls, and what is wrong."""
    with connect(dsn, autocommit=True) as conn, wrap_errors():
        result = Listing(jobs(conn))
        by_cron = [j for j in result.jobs if j.runs_in == "pg_cron"]
        try:
            cron_db, this_db = conn.execute(queries.CRON_DATABASE).fetchone()
        except psycopg.errors.InsufficientPrivilege:
            by_cron = []
            result.cron_note = "pg_cron's run history: this role may not read cron.database_name"
    if by_cron:
        try:
            with connect(make_conninfo(dsn, dbname=cron_db or "postgres")) as cron:
                rows = cron.execute(
                    queries.CRON_LAST_RUNS,
                    {"names": [j.cron_job_name for j in by_cron], "database": this_db},
                ).fetchall()
        except (HooklineError, psycopg.Error) as exc:
            result.cron_note = f"pg_cron's run history is not readable: {one_line(exc)}"
        else:
            last = {r[0]: r[1:] for r in rows}
            for job in by_cron:
                if job.cron_job_name in last:
                    job.cron_last_start, job.cron_last_status, job.cron_last_message = last[
                        job.cron_job_name
                    ]
            if not rows:
                result.cron_note = (
                    "pg_cron shows no job or run of this database to this role (only the role "
                    "that registered the jobs, or a superuser, sees them)"
                )
    for job in result.jobs:
        if job.cron_last_status == "failed":
            result.problems.append(
                f"{job.job_name}: pg_cron's last call failed: {job.cron_last_message}"
            )
        if job.stale_since is not None:
            result.problems.append(
                f"{job.job_name}: no scheduled run succeeded since {job.stale_since:%Y-%m-%d %H:%M} UTC"
                f" (runs in {job.runs_in})"
            )
    return result


def run_now(dsn: str, job_name: str, run_by: str = "cli") -> str:
    """Run one job now; returns succeeded, failed or skipped."""
    with connect(dsn, autocommit=True) as conn, wrap_errors():
        now = dt.datetime.now(dt.UTC)
        row = conn.execute(
            queries.RUN_JOB, {"job_name": job_name, "scheduled_for": now, "run_by": run_by}
        ).fetchone()
        return row[0]


def set_schedule(dsn: str, job_name: str, schedule: str, reason: str | None = None) -> None:
    with connect(dsn, autocommit=True) as conn, wrap_errors(), conn.transaction():
        if reason is not None:  # for the audit row of the change
            conn.execute(queries.SET_AUDIT_REASON, {"reason": reason})
        conn.execute(queries.SET_JOB_SCHEDULE, {"job_name": job_name, "schedule": schedule})


def _cron_database(conn: psycopg.Connection) -> tuple[str, str]:
    cron_db, this_db = conn.execute(queries.CRON_DATABASE).fetchone()
    if not cron_db:
        raise HooklineError(
            "pg_cron is not loaded on this server (shared_preload_libraries); the runners run the jobs"
        )
    return cron_db, this_db


def _set_runner(conn: psycopg.Connection, names: list[str], runs_in: str) -> None:
    with conn.transaction(), wrap_errors():
        for name in names:
            conn.execute(queries.SET_JOB_RUNNER, {"job_name": name, "runs_in": runs_in})


def register(dsn: str) -> list[str]:
    """Schedule every job with pg_cron to run in this database; returns pg_cron's job names.
    Idempotent: a second call changes nothing but schedules that changed meanwhile."""
    with connect(dsn, autocommit=True) as conn:
        cron_db, this_db = _cron_database(conn)
        all_jobs = jobs(conn)
        if cron_db == this_db:
            if not conn.execute(queries.HAS_CRON_SCHEMA).fetchone()[0]:
                raise HooklineError(
                    f"pg_cron is loaded but the extension is missing: create extension pg_cron in {cron_db}"
                )
            _set_runner(conn, [j.job_name for j in all_jobs], "pg_cron")  # the trigger schedules
            return [j.cron_job_name for j in all_jobs]
        cron = connect(make_conninfo(dsn, dbname=cron_db), autocommit=True)
        with cron, cron.transaction(), wrap_errors():
            if not cron.execute(queries.HAS_CRON_SCHEMA).fetchone()[0]:
                raise HooklineError(
                    f"pg_cron is loaded but the extension is missing in {cron_db}: "
                    "create extension pg_cron there (pg_cron 1.4 or newer)"
                )
            # Names of the first release (without the database) registered for this
            # database go: they collide with every other database's.
            cron.execute(
                queries.CRON_UNSCHEDULE_NAMES,
                {"names": [f"hookline-{j.job_name}" for j in all_jobs], "database": this_db},
            )
            for job in all_jobs:
                cron.execute(
                    queries.CRON_SCHEDULE_IN_DATABASE,
                    {"name": job.cron_job_name, "job_name": job.job_name,
                     "schedule": job.schedule, "database": this_db},
                )  # fmt: skip
        _set_runner(conn, [j.job_name for j in all_jobs], "pg_cron")
        return [j.cron_job_name for j in all_jobs]


def unregister(dsn: str) -> int:
    """Remove from pg_cron exactly the jobs register scheduled for this database; the runners
    take them over. Returns how many pg_cron jobs went."""
    with connect(dsn, autocommit=True) as conn:
        cron_db, this_db = _cron_database(conn)
        all_jobs = jobs(conn)
        names = [j.cron_job_name for j in all_jobs]
        with connect(make_conninfo(dsn, dbname=cron_db), autocommit=True) as cron, wrap_errors():
            if not cron.execute(queries.HAS_CRON_SCHEMA).fetchone()[0]:
                raise HooklineError(f"the pg_cron extension is missing in {cron_db}")
            before = cron.execute(
                queries.CRON_COUNT_NAMES, {"names": names, "database": this_db}
            ).fetchone()[0]
            if cron_db != this_db:
                cron.execute(queries.CRON_UNSCHEDULE_NAMES, {"names": names, "database": this_db})
        _set_runner(conn, [j.job_name for j in all_jobs], "runner")  # in cron_db: the trigger
        return before


def enable(dsn: str, say: Callable[[str], None]) -> bool:
    """For `hookline up`: pg_cron runs the jobs, fully configured, or the runners do and this
    says why. Returns whether pg_cron runs them."""
    with connect(dsn, autocommit=True) as conn:
        cron_db, this_db = conn.execute(queries.CRON_DATABASE).fetchone()
        workers = conn.execute(queries.CRON_BACKGROUND_WORKERS).fetchone()[0]
    if not cron_db:
        say("pg_cron: not installed on this server; the runner runs the scheduled jobs")
        return False
    if cron_db != this_db or workers != "on":
        say(
            f"pg_cron: NOT USED (cron.database_name = {cron_db}, cron.use_background_workers = "
            f"{workers}); the runner runs the scheduled jobs"
        )
        return False
    try:
        with connect(dsn, autocommit=True) as conn, wrap_errors():
            conn.execute(queries.CREATE_PG_CRON)
        names = register(dsn)
    except (HooklineError, psycopg.Error) as exc:
        say(f"pg_cron: NOT USED ({one_line(exc)}); the runner runs the scheduled jobs")
        return False
    say(f"pg_cron: runs the {len(names)} scheduled jobs (background workers, database {this_db})")
    return True
