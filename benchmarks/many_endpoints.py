"""Claim cost as the number of active endpoints grows: a claim probes every active endpoint's
due index once (docs/delivery.md, "The hot table, claim and complete").

    python benchmarks/many_endpoints.py "postgresql://.../scratch" [counts, default 100,1000,10000]

For each count it makes that many endpoints of tenant 'bench' (many-*, added through
`hookline.add_endpoint`, kept between counts; the tenant's others paused), queues 20 due deliveries for each, and times 60
claims of 32 (`queries.CLAIM`, each followed by `queries.COMPLETE` of all-2xx results) on one
session. It prints the median and p90 claim time per count, the size of the claim cursor the
session keeps, and each median over the first count's (the baseline of the same run). Use a
database you can throw away: it truncates hookline's queue tables and leaves the endpoints.

    python benchmarks/many_endpoints.py "postgresql://.../scratch" --idle 0,1000,10000 [--busy 100]

Idle endpoints: `--busy` active endpoints (default 100, tenant 'bench', named busy-*) with 30
due deliveries each, beside each count of active endpoints with nothing queued (idle-*, made
as needed and paused again for the smaller counts: paused endpoints cost a claim nothing). On
one session it times 60 claims of 32 (each completed at once) per count, and prints their
median, p90 and mean, how many of them probed every active endpoint (the claim cursor's "ca"
changed: docs/delivery.md, "Idle endpoints and the full probe"), and each mean over the mean
beside 0 idle endpoints. Counts run in the order given; give 0 first.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import timedelta

import psycopg
from bench_common import prepare, reset_endpoints
from delivery_backlog import SETUP
from psycopg.types.json import Jsonb

from hookline import queries

# 20 due deliveries per active endpoint, one event each, in arrival order.
QUEUE = """
with ev as (
  insert into hookline.events (received_at, source_id, tenant_id, external_id, event_type, payload)
  select now() - interval '1 hour' + i * interval '1 microsecond', s.source_id, 'bench',
    'many-' || i, 'bench.event', '{"n": 1}'
  from generate_series(1, %(k)s::int) i, hookline.sources s where s.name = 'bench'
  returning event_id, received_at
)
insert into hookline.deliveries (endpoint_id, event_id, event_received_at, next_attempt_at, created_at, tenant_id)
select e.endpoint_id, ev.event_id, ev.received_at, ev.received_at, ev.received_at, 'bench'
from ev
join (
  select endpoint_id, row_number() over (order by endpoint_id) - 1 as r
  from hookline.endpoints where state = 'active'
) e on ev.event_id %% %(n)s = e.r
"""


# 30 due deliveries for each busy endpoint (named busy-*), none for the idle ones.
QUEUE_BUSY = """
with ev as (
  insert into hookline.events (received_at, source_id, tenant_id, external_id, event_type, payload)
  select now() - interval '1 hour' + i * interval '1 microsecond', s.source_id, 'bench',
    'busy-' || i, 'bench.event', '{"n": 1}'
  from generate_series(1, %(k)s::int) i, hookline.sources s where s.name = 'bench'
  returning event_id, received_at
)
insert into hookline.deliveries (endpoint_id, event_id, event_received_at, next_attempt_at, created_at, tenant_id)
select e.endpoint_id, ev.event_id, ev.received_at, ev.received_at, ev.received_at, 'bench'
from ev
join (
  select endpoint_id, row_number() over (order by endpoint_id) - 1 as r
  from hookline.endpoints where state = 'active' and name like 'busy-%%'
) e on ev.event_id %% %(n)s = e.r
"""

CURSOR = "select current_setting('hookline.claim_cursor', true)"


def claims(conn: psycopg.Connection, count: int, probes: list[float] | None = None) -> tuple[list[float], int]:  # fmt: skip
    """The times in ms of `count` claims of 32, each completed at once, and how many of them
    probed every active endpoint (the cursor's "ca" changed; all of them where the functions
    keep no "ca": every claim probes every endpoint there). The full probes' durations (the
    cursor's "cd", ms) go to `probes` when given."""
    params = {"runner": "bench", "max_rows": 32, "lease": timedelta(seconds=30)}
    times = []
    full = 0
    probed = None
    for _ in range(count):
        started = time.perf_counter()
        rows = conn.execute(queries.CLAIM, params).fetchall()
        times.append((time.perf_counter() - started) * 1000)
        cursor = json.loads(conn.execute(CURSOR).fetchone()[0] or "{}")
        if cursor.get("ca") is not None and cursor.get("ca") != probed:
            full += 1
            probed = cursor.get("ca")
            if probes is not None:
                probes.append(float(cursor.get("cd") or 0))
        results = [
            {"delivery_id": r[0], "lease_token": str(r[1]), "status_code": 200} for r in rows
        ]
        conn.execute(queries.COMPLETE, {"results": Jsonb(results)}).fetchall()
    return times, full if probed is not None else count  # functions without candidates: every one


def idle(dsn: str, counts: list[int], busy: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        conn.execute("select hookline.premake_partitions()")
        base = None
        for n in counts:
            # Only busy-* and the first n idle-* active, at max_in_flight 10,000 and without a
            # breaker, whatever another benchmark left them.
            reset_endpoints(conn, {
                **{f"busy-{i}": 10000 for i in range(busy)}, **{f"idle-{i}": 10000 for i in range(n)}
            })  # fmt: skip
            conn.execute(SETUP)
            conn.execute(QUEUE_BUSY, {"k": 30 * busy, "n": busy})
            conn.execute("vacuum analyze hookline.deliveries")
            conn.execute("vacuum analyze hookline.endpoints")
            conn.execute("select set_config('hookline.claim_cursor', '', false)")
            probes: list[float] = []
            times, full = claims(conn, 60, probes)
            mean = statistics.mean(times)
            base = base or mean
            times.sort()
            print(f"{busy} busy + {n:>6} idle endpoints: claim of 32 median {statistics.median(times):.2f} ms, "
                  f"p90 {times[int(len(times) * 0.9)]:.2f} ms, mean {mean:.2f} ms, "
                  f"{full} of 60 probed every endpoint (median full probe "
                  f"{statistics.median(probes) if probes else float('nan'):.2f} ms); "
                  f"mean / 0 idle = {mean / base:.2f}")  # fmt: skip


def main() -> None:
    dsn = sys.argv[1]
    if "--idle" in sys.argv:
        at = sys.argv.index("--idle")
        busy = int(sys.argv[sys.argv.index("--busy") + 1]) if "--busy" in sys.argv else 100
        idle(dsn, [int(n) for n in sys.argv[at + 1].split(",")], busy)
        return
    counts = [int(n) for n in (sys.argv[2] if len(sys.argv) > 2 else "100,1000,10000").split(",")]
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        conn.execute("select hookline.premake_partitions()")
        base = None
        for n in counts:
            # Exactly these active (others paused), at max_in_flight 10,000, no breaker.
            reset_endpoints(conn, {f"many-{i}": 10000 for i in range(n)})
            active = n
            conn.execute(SETUP)
            conn.execute(QUEUE, {"k": 20 * active, "n": active})
            conn.execute("vacuum analyze hookline.deliveries")
            times, _ = claims(conn, 60)
            times.sort()
            median, p90 = statistics.median(times), times[int(len(times) * 0.9)]
            size = conn.execute(
                "select coalesce(length(current_setting('hookline.claim_cursor', true)), 0)"
            ).fetchone()[0]
            base = base or median
            print(f"{active:>6} active endpoints: claim of 32 median {median:.2f} ms, p90 {p90:.2f} ms, "
                  f"cursor {size} bytes; / {counts[0]} endpoints = {median / base:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
