"""Scheduled jobs: list, run now, and hand them to pg_cron or back to the runners.

The jobs themselves are SQL functions run through `hookline.run_job`; this module only calls
them. When no pg_cron runs them, `hookline.scheduler` fires them from the runners.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import class_row

from hookline import queries
from hookline.db import connect
from hookline.errors import HooklineError, wrap_errors


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


def jobs(conn: psycopg.Connection) -> list[Job]:
    with conn.cursor(row_factory=class_row(Job)) as cur:
        return cur.execute(queries.JOB_STATUS).fetchall()


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


def _cron_connection(dsn: str, conn: psycopg.Connection) -> tuple[str, str]:
    cron_db, this_db = conn.execute(queries.CRON_DATABASE).fetchone()
    if not cron_db:
        raise HooklineError(
            "pg_cron is not loaded on this server (shared_preload_libraries); the runners run the jobs"
        )
    return make_conninfo(dsn, dbname=cron_db), this_db


def register(dsn: str) -> list[str]:
    """Schedule every job with pg_cron (in its own database) to run in this database."""
    with connect(dsn, autocommit=True) as conn:
        cron_dsn, this_db = _cron_connection(dsn, conn)
        all_jobs = jobs(conn)
        with connect(cron_dsn, autocommit=True) as cron, cron.transaction():
            try:
                for job in all_jobs:
                    cron.execute(
                        queries.CRON_SCHEDULE_IN_DATABASE,
                        {"job_name": job.job_name, "schedule": job.schedule, "database": this_db},
                    )
            except psycopg.errors.UndefinedFunction as exc:
                raise HooklineError(
                    "pg_cron is loaded but the extension is missing in its database: "
                    "create extension pg_cron there (pg_cron 1.4 or newer)"
                ) from exc
        with conn.transaction(), wrap_errors():
            for job in all_jobs:
                conn.execute(
                    queries.SET_JOB_RUNNER, {"job_name": job.job_name, "runs_in": "pg_cron"}
                )
        return [job.job_name for job in all_jobs]


def unregister(dsn: str) -> int:
    """Remove this database's hookline jobs from pg_cron; the runners take them over."""
    with connect(dsn, autocommit=True) as conn:
        cron_dsn, this_db = _cron_connection(dsn, conn)
        with connect(cron_dsn, autocommit=True) as cron:
            removed = cron.execute(
                queries.CRON_UNSCHEDULE_DATABASE, {"database": this_db}
            ).fetchone()[0]
        with conn.transaction(), wrap_errors():
            for job in jobs(conn):
                conn.execute(
                    queries.SET_JOB_RUNNER, {"job_name": job.job_name, "runs_in": "runner"}
                )
        return removed
