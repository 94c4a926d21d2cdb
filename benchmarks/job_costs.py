"""What each scheduled job (hookline.jobs) costs at today's table sizes and at 10 times the
history, with the same work to do: a job bounded by its own work shows a ratio near 1.

    python benchmarks/job_costs.py "postgresql://.../scratch" [history rows at 1x]

1x history (default 20,000): that many events and dedup keys over the last 10 days, 5 attempts
each, finished outbox messages as many, a tenth as many dead letters, breaker transitions and
audit rows (half of them replays), and a live backlog of a tenth (retries due in an hour). The work is the same at
both sizes: 20 endpoints to snapshot, 100 expired leases to rescue, 100 due deliveries, 1,000
dead letters, outbox messages and breaker transitions past retention. 10x adds nine times the
history and sets up the same work again; last, nine times the live backlog is added (the queue
that snapshot_stats counts by state: a cost of the live queue, not of history).

Each job runs once with its work (the "work" column) and then five times more with nothing
left to do ("idle", the median). Prints ms at 1x and 10x and the ratios, then the shared
buffers the same runs touched (EXPLAIN ANALYZE BUFFERS of the call, its statements included):
the load of a shared machine moves the milliseconds, not the buffers.
Use a database you can throw away: it is filled with synthetic rows.
"""

from __future__ import annotations

import statistics
import sys
import time

import psycopg
from bench_common import prepare

JOBS = ["snapshot_stats", "apply_retention", "prune_dead_letters", "maintain_partitions",
        "rescue_leases", "wake_due_retries", "evaluate_alerts"]  # fmt: skip
ENDPOINTS = 20

HISTORY = """
insert into hookline.events (event_id, received_at, source_id, tenant_id, external_id, event_type, payload)
select i, now() - (i %% 10) * interval '1 day' - interval '1 hour', s.source_id, 'bench',
  'h-' || i, 'bench.event', '{"a": 1}'
from generate_series(%(first)s::bigint, %(last)s::bigint) i, hookline.sources s where s.name = 'bench';
insert into hookline.event_keys (source_id, external_id, event_id, received_at)
select e.source_id, e.external_id, e.event_id, e.received_at from hookline.events e
where e.event_id between %(first)s and %(last)s;
insert into hookline.attempts (attempted_at, delivery_id, endpoint_id, generation, attempt_number,
  status_code, duration_ms, outcome, tenant_id)
select now() - (i %% 10) * interval '1 day' - interval '1 hour' - (k * interval '1 second'), i,
  (select min(endpoint_id) from hookline.endpoints) + i %% %(endpoints)s, 1, k, 200, 5,
  case when k = 5 then 'succeeded' else 'retrying' end, 'bench'
from generate_series(%(first)s::bigint, %(last)s::bigint) i, generate_series(1, 5) k;
insert into hookline.dead_letters (delivery_id, endpoint_id, event_id, event_received_at, created_at,
  finished_at, attempt_count, generation, state, tenant_id, reason)
select i, (select min(endpoint_id) from hookline.endpoints) + (i / 10) %% %(endpoints)s, i,
  now() - (i %% 10) * interval '1 day' - interval '1 hour', now() - interval '1 day', now() - interval '1 day', 5, 1,
  case when i %% 7 = 0 then 'discarded' else 'dead' end::hookline.delivery_state, 'bench', 'gave up'
from generate_series(%(first)s::bigint, %(last)s::bigint) i where i %% 10 = 0;
insert into hookline.outbox (source_id, next_attempt_at, created_at, sent_at, finished_at, state,
  phone_number_id, tenant_id, idempotency_key, recipient, message)
select s.source_id, null, now() - interval '2 days', now() - interval '2 days', now() - interval '2 days',
  'failed', '9999', 'bench', 'h-' || i, '+1555' || i, '{"type": "text", "text": {"body": "hi"}}'
from generate_series(%(first)s::bigint, %(last)s::bigint) i, hookline.sources s where s.name = 'bench';
insert into hookline.breaker_transitions (target, happened_at, from_state, to_state, actor, reason)
select 'endpoint:' || ((select min(endpoint_id) from hookline.endpoints) + (i / 10) %% %(endpoints)s),
  now() - interval '1 day', 'closed', 'open', 'bench', 'bench'
from generate_series(%(first)s::bigint, %(last)s::bigint) i where i %% 10 = 0;
"""

# The live backlog (not history: the queue snapshot_stats describes): retries due in an hour.
BACKLOG = """
insert into hookline.deliveries (endpoint_id, event_id, event_received_at, next_attempt_at, created_at,
  attempt_count, state, tenant_id)
select (select min(endpoint_id) from hookline.endpoints) + (i / 10) %% %(endpoints)s, i,
  now() - (i %% 10) * interval '1 day' - interval '1 hour', now() + interval '1 hour', now(), 1, 'retrying', 'bench'
from generate_series(%(first)s::bigint, %(last)s::bigint) i where i %% 10 = 0
"""

# The audit chain's head row is updated once per row: a few hundred rows a transaction.
AUDIT = """
insert into hookline.audit_log (action, tenant_id, target)
select case when i % 2 = 0 then 'delivery.replay' else 'endpoint.update' end, 'bench',
  jsonb_build_object('count', 3)
from generate_series(1, 500) i
"""

# The same work at every size: what a run of each job has to do.
WORK = """
delete from hookline.deliveries where event_id < 0;
insert into hookline.deliveries (endpoint_id, event_id, event_received_at, next_attempt_at, created_at,
  attempt_count, state, tenant_id, lease_token, runner)
select (select min(endpoint_id) from hookline.endpoints) + i %% 20, -i, now() - interval '1 hour',
  now() - interval '1 minute', now(), 1,
  case when i <= 100 then 'in_flight' else 'pending' end::hookline.delivery_state, 'bench',
  case when i <= 100 then gen_random_uuid() end, case when i <= 100 then 'gone' end
from generate_series(1, 200) i;
insert into hookline.dead_letters (delivery_id, endpoint_id, event_id, event_received_at, created_at,
  finished_at, attempt_count, generation, state, tenant_id, reason)
select -i - %(round)s * 10000, (select min(endpoint_id) from hookline.endpoints) + i %% 20, -i,
  now() - interval '1 hour', now() - interval '60 days', now() - interval '60 days', 5, 1, 'dead', 'bench', 'gave up'
from generate_series(1, 1000) i;
insert into hookline.outbox (source_id, next_attempt_at, created_at, sent_at, finished_at, state,
  phone_number_id, tenant_id, idempotency_key, recipient, message)
select s.source_id, null, now() - interval '60 days', now() - interval '60 days', now() - interval '60 days',
  'failed', '9999', 'bench', 'old-' || %(round)s || '-' || i, '+1666' || i, '{"type": "text", "text": {"body": "hi"}}'
from generate_series(1, 1000) i, hookline.sources s where s.name = 'bench';
insert into hookline.breaker_transitions (target, happened_at, from_state, to_state, actor, reason)
select 'endpoint:' || (select min(endpoint_id) from hookline.endpoints), now() - interval '60 days',
  'closed', 'open', 'bench', 'old'
from generate_series(1, 1000) i;
"""


def setup(conn: psycopg.Connection, dsn: str) -> None:
    prepare(dsn, conn)
    conn.execute("select hookline.premake_partitions()")
    for table in ("events", "attempts"):
        for day in range(0, 11):
            conn.execute(
                "select hookline._create_partition(%s, (now() - %s * interval '1 day')::date)",
                (table, day),
            )
    conn.execute(
        "select hookline.add_endpoint('bench', 'jobs-' || i, 'http://127.0.0.1:9/' || i) "
        "from generate_series(1, %s) i",
        (ENDPOINTS,),
    )
    conn.execute("select hookline.add_sender('bench', '9999', 'bench-token')")
    conn.execute(
        "insert into hookline.circuit_breakers (target, window_started_at, changed_at) "
        "select 'endpoint:' || endpoint_id, now(), now() from hookline.endpoints"
    )


def fill(conn: psycopg.Connection, first: int, last: int, history: bool = True) -> None:
    params = {"endpoints": ENDPOINTS, "first": first, "last": last}
    if history:
        psycopg.ClientCursor(conn).execute(HISTORY, params)  # type: ignore[arg-type]  # a script
        for _ in range((last - first + 1) // 5000):
            conn.execute(AUDIT)  # type: ignore[arg-type]
    else:
        conn.execute(BACKLOG, params)  # type: ignore[arg-type]


def run(conn: psycopg.Connection, job: str, minute: int) -> tuple[float, int]:
    """ms of one run, and the shared buffers it touched (hit or read, its statements included:
    EXPLAIN ANALYZE of the call, without timing), which the machine's load does not change."""
    now = f"now() + interval '{minute} minutes'" if job == "snapshot_stats" else "now()"
    started = time.perf_counter()
    row = conn.execute(
        f"explain (analyze, buffers, timing off, summary off, format json) select hookline.{job}({now})"  # type: ignore[arg-type]
    ).fetchone()
    elapsed = (time.perf_counter() - started) * 1000
    plan = row[0][0]["Plan"]  # type: ignore[index]
    return elapsed, plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]


Cost = tuple[float, float, int, int]  # work ms, idle ms, work buffers, idle buffers


def measure(conn: psycopg.Connection, round_: int) -> dict[str, Cost]:
    psycopg.ClientCursor(conn).execute(WORK, {"round": round_})  # type: ignore[arg-type]  # a script
    conn.execute("vacuum analyze")
    costs: dict[str, Cost] = {}
    for job in JOBS:
        work, work_buffers = run(conn, job, round_ * 10)
        idle = [run(conn, job, round_ * 10 + k) for k in range(1, 6)]
        costs[job] = (
            work,
            statistics.median(ms for ms, _ in idle),
            work_buffers,
            int(statistics.median(b for _, b in idle)),
        )
    return costs


def main() -> None:
    dsn = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    with psycopg.connect(dsn, autocommit=True) as conn:
        setup(conn, dsn)
        fill(conn, 1, rows)
        fill(conn, 1, rows, history=False)
        one = measure(conn, 1)
        fill(conn, rows + 1, rows * 10)
        ten = measure(conn, 2)
        fill(conn, rows + 1, rows * 10, history=False)
        backlog = measure(conn, 3)
        sizes = conn.execute(
            "select (select count(*) from hookline.attempts), (select count(*) from hookline.dead_letters), "
            "(select count(*) from hookline.deliveries)"
        ).fetchone()
    print(
        f"at 10x: {sizes[0]:,} attempts, {sizes[1]:,} dead letters; then {sizes[2]:,} live deliveries"
    )
    print("ms of one run with the work / median of five runs with nothing left to do (idle)")
    head = (
        "job",
        "1x work",
        "10x work",
        "ratio",
        "1x idle",
        "10x idle",
        "ratio",
        "+10x backlog idle",
        "ratio",
    )
    print("{:<20} {:>9} {:>9} {:>6} {:>9} {:>9} {:>6} {:>18} {:>6}".format(*head))
    for job in JOBS:
        (w1, i1, *_), (w10, i10, *_), (_, ib, *_) = one[job], ten[job], backlog[job]
        print(f"{job:<20} {w1:>7.1f}ms {w10:>7.1f}ms {w10 / w1:>6.2f} {i1:>7.1f}ms {i10:>7.1f}ms "
              f"{i10 / i1:>6.2f} {ib:>16.1f}ms {ib / i1:>6.2f}")  # fmt: skip
    print("shared buffers touched (hit or read) by the same runs: work / median idle")
    print("{:<20} {:>9} {:>9} {:>6} {:>9} {:>9} {:>6} {:>18} {:>6}".format(*head))
    for job in JOBS:
        (*_, w1, i1), (*_, w10, i10), (*_, ib) = one[job], ten[job], backlog[job]
        print(f"{job:<20} {w1:>9} {w10:>9} {w10 / max(w1, 1):>6.2f} {i1:>9} {i10:>9} "
              f"{i10 / max(i1, 1):>6.2f} {ib:>18} {ib / max(i1, 1):>6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
