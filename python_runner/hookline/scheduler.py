"""The runners' stand-in for pg_cron: fires the jobs that `hookline.jobs` gives to the runners.

Every runner runs one scheduler. Each computes the same schedule slots with cronsim and calls
`hookline.run_job(job, slot, runner)`; the slot's unique key in `hookline.job_runs` makes one
runner execute it and the others skip, so no leader election is needed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import psycopg
from cronsim import CronSim, CronSimError

from hookline import queries, telemetry
from hookline.errors import one_line
from hookline.resilience import Pool, retrying

RELOAD = dt.timedelta(seconds=60)  # how often the job table is re-read


def next_slot(schedule: str, after: dt.datetime) -> dt.datetime | None:
    """The first minute after `after` that `schedule` fires at (UTC), or None if unparsable."""
    try:
        return next(CronSim(schedule, after.astimezone(dt.UTC).replace(second=0, microsecond=0)))
    except (CronSimError, StopIteration):
        return None


async def _runner_jobs(pool: Pool, stop: asyncio.Event) -> dict[str, str]:
    async def read(conn: psycopg.AsyncConnection[Any]) -> list[Any]:
        return await (await conn.execute(queries.JOB_STATUS)).fetchall()

    rows = await retrying(pool, read, what="reading the job table", stop=stop)
    return {r[0]: r[1] for r in rows if r[2] == "runner" and r[3]}


async def _fire(
    pool: Pool,
    job: str,
    slot: dt.datetime,
    runner_id: str,
    say: Callable[[str], None],
    stop: asyncio.Event,
) -> None:
    params = {"job_name": job, "scheduled_for": slot, "run_by": runner_id}

    async def run(conn: psycopg.AsyncConnection[Any]) -> str:
        started = time.time_ns()
        status = (await (await conn.execute(queries.RUN_JOB, params)).fetchone())[0]
        telemetry.job(job, started, status)
        return status

    try:  # a slot runs once (hookline.job_runs): asking again after a lost answer is safe
        status = await retrying(pool, run, what=f"job {job}", stop=stop)
        if status != "skipped":
            say(f"job {job} for {slot:%Y-%m-%d %H:%M}: {status}")
    except psycopg.Error as exc:
        say(f"job {job} for {slot:%Y-%m-%d %H:%M} not run: {one_line(exc)}")


async def run_scheduler(
    pool: Pool,
    runner_id: str,
    stop: asyncio.Event,
    say: Callable[[str], None] = print,
) -> None:
    """Fire due jobs until `stop` is set. Transient database errors are retried (resilience);
    others are reported and the loop goes on."""
    schedules: dict[str, str] = {}
    loaded_at = dt.datetime.min.replace(tzinfo=dt.UTC)
    cursor = dt.datetime.now(dt.UTC)
    while not stop.is_set():
        now = dt.datetime.now(dt.UTC)
        if now - loaded_at >= RELOAD:
            try:
                schedules = await _runner_jobs(pool, stop)
                loaded_at = now
            except psycopg.Error as exc:
                say(f"cannot read the job table: {one_line(exc)}")
        slots = {job: next_slot(expr, cursor) for job, expr in schedules.items()}
        for job, slot in slots.items():
            if slot is None:
                say(f"job {job} has a schedule cronsim cannot parse: {schedules[job]!r}")
        due = [s for s in slots.values() if s is not None]
        wake = min([*due, loaded_at + RELOAD])
        delay = (wake - dt.datetime.now(dt.UTC)).total_seconds()
        if delay > 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=delay)
                return
            except TimeoutError:
                pass
        fired_at = min(due) if due else None
        if fired_at is not None and fired_at <= dt.datetime.now(dt.UTC):
            await asyncio.gather(
                *(
                    _fire(pool, job, slot, runner_id, say, stop)
                    for job, slot in slots.items()
                    if slot == fired_at
                )
            )
            # After a stall (a long job, a database outage) skip the missed slots but one.
            cursor = max(fired_at, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
