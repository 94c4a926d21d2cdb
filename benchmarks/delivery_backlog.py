"""Drain rate of the delivery core (claim + complete, the runner's own statements, no HTTP) at a
small and a large backlog, and after a history of finished deliveries, on a scratch database.

    python benchmarks/delivery_backlog.py "postgresql://.../scratch" [drained] [batch] [large]

For each case it builds the queue with set-based SQL (events and pending deliveries, as ingest
leaves them), then claims and completes `drained` deliveries (default
10,000; all 2xx) in batches (default 32, the runner's) through `queries.CLAIM` and
`queries.COMPLETE` from one session, and prints deliveries per second (the median of chunks of
about 1,000, so that other load on a shared machine moves it less):

- a backlog of 2 x `drained` and one of `large` (default 1,000,000), on two endpoints of one
  table, drained in turns (the other endpoint paused): the large/small ratio (goal >= 0.9);
- fresh (10,000 queued; before and after the next case, the mean) and after `large` deliveries of history (claimed and finished in bulk,
  leaving what a long drain leaves: dead row versions and index entries, attempts; the
  history's events analysed while uncommitted, so their partition's statistics say it is
  empty), both without and after a VACUUM (what autovacuum restores within its naptime):
  history/fresh ratios;
- the same-run SKIP LOCKED baseline of `bench_common.py` (batch 100) and each rate's ratio to it.

Use a database you can throw away: it truncates hookline's queue tables.
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import timedelta

import psycopg
from bench_common import baseline, prepare, reset_endpoints
from psycopg.types.json import Jsonb

from hookline import queries

SETUP = """
truncate hookline.deliveries, hookline.attempts, hookline.dead_letters, hookline.events cascade;
"""

# Events and their pending deliveries, due in arrival order, as ingest and fan-out leave them.
QUEUE = """
with ev as (
  insert into hookline.events (received_at, source_id, tenant_id, external_id, event_type, payload)
  select now() - interval '1 hour' + i * interval '1 microsecond', s.source_id, 'bench',
    %(tag)s || '-' || i, 'bench.event', '{"n": 1}'
  from generate_series(1, %(n)s::int) i, hookline.sources s where s.name = 'bench'
  returning event_id, received_at
)
insert into hookline.deliveries (endpoint_id, event_id, event_received_at, next_attempt_at, created_at, tenant_id)
select e.endpoint_id, ev.event_id, ev.received_at, ev.received_at, ev.received_at, 'bench'
from ev, hookline.endpoints e where e.name = %(endpoint)s
"""

# History: the queue claimed and finished in bulk (one update, one delete, one attempt each).
LEASE_ALL = """
update hookline.deliveries set state = 'in_flight', lease_token = gen_random_uuid(), runner = 'history',
  next_attempt_at = now() + interval '1 minute'
"""
FINISH_ALL = """
with done as (delete from hookline.deliveries d returning d.delivery_id, d.endpoint_id, d.tenant_id)
insert into hookline.attempts (attempted_at, delivery_id, endpoint_id, generation, attempt_number,
  status_code, duration_ms, outcome, tenant_id, runner)
select now(), delivery_id, endpoint_id, 1, 1, 200, 1, 'succeeded', tenant_id, 'history' from done
"""


def drain(conn: psycopg.Connection, count: int, batch: int) -> float:
    """Claim and complete count deliveries with the runner's statements; deliveries per second,
    the median over chunks of about 1,000 (robust to other load on a shared machine)."""
    rates: list[float] = []
    done = chunk_done = 0
    chunk_s = 0.0
    params = {"runner": "bench", "max_rows": batch, "lease": timedelta(seconds=30)}
    while done < count:
        t = time.perf_counter()
        rows = conn.execute(queries.CLAIM, params).fetchall()
        if not rows:
            break
        results = [
            {"delivery_id": r[0], "lease_token": str(r[1]), "status_code": 200} for r in rows
        ]
        conn.execute(queries.COMPLETE, {"results": Jsonb(results)}).fetchall()
        chunk_s += time.perf_counter() - t
        chunk_done += len(rows)
        done += len(rows)
        if chunk_done >= 1000:
            rates.append(chunk_done / chunk_s)
            chunk_done, chunk_s = 0, 0.0
    return statistics.median(rates)


def case(dsn: str, conn: psycopg.Connection, backlog: int, drained: int, batch: int, history: int = 0) -> dict[str, float]:  # fmt: skip
    conn.execute(SETUP)
    conn.execute("vacuum hookline.deliveries")
    if history:
        # The history's events are analysed while their insert is uncommitted, as autovacuum's
        # analyze may do during any bulk insert: the day's partition then has statistics that
        # say it is empty, which the drain's plans are made with (docs/delivery.md, "The hot
        # table, claim and complete"; runs of this benchmark hit it or not, by chance, before).
        with psycopg.connect(dsn) as bulk:
            bulk.execute(QUEUE, {"tag": "h", "n": history, "endpoint": "bench"})
            conn.execute("analyze hookline.events")
            bulk.commit()
        conn.execute(LEASE_ALL)
        conn.execute(FINISH_ALL)
        # The attempts of the history (1,000,000 inserts) would start an autovacuum of their
        # partition, which on this 2-core machine can land in the measured second or not; it
        # runs here. deliveries, the table the case is about, is not vacuumed.
        conn.execute("vacuum hookline.attempts")
    conn.execute(QUEUE, {"tag": "q", "n": backlog, "endpoint": "bench"})
    conn.execute("analyze hookline.deliveries")
    conn.execute("checkpoint")  # not the writes of building the queue during the drain
    rates = {"no vacuum": drain(conn, drained, batch)}
    if history:
        conn.execute("vacuum hookline.deliveries")
        conn.execute("checkpoint")
        rates["after vacuum"] = drain(conn, drained, batch)
    return rates


def only(conn: psycopg.Connection, endpoint: str) -> None:
    """Claims take from this endpoint only (the other one is paused)."""
    conn.execute(
        "update hookline.endpoints set state = case when name = %s then 'active' else 'paused' end, "
        "paused_reason = case when name = %s then null else 'bench' end where name like 'bench%%'",
        (endpoint, endpoint),
    )


def backlogs(conn: psycopg.Connection, small: int, large: int, drained: int, batch: int) -> tuple[float, float]:  # fmt: skip
    """Both backlogs in one table, on two endpoints, drained in turns (5 rounds each), so the
    machine's load drifts over both alike; the median of each."""
    conn.execute(SETUP)
    conn.execute("vacuum hookline.deliveries")
    conn.execute(QUEUE, {"tag": "s", "n": small, "endpoint": "bench"})
    conn.execute(QUEUE, {"tag": "l", "n": large, "endpoint": "bench-large"})
    conn.execute("analyze hookline.deliveries")
    conn.execute("checkpoint")  # not the writes of building the queue during the drain
    rates: dict[str, list[float]] = {"bench": [], "bench-large": []}
    for _round in range(5):
        for endpoint, got in rates.items():
            only(conn, endpoint)
            got.append(drain(conn, drained // 5, batch))
    only(conn, "bench")
    return statistics.median(rates["bench"]), statistics.median(rates["bench-large"])


def main() -> None:
    dsn = sys.argv[1]
    drained = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    large = int(sys.argv[4]) if len(sys.argv) > 4 else 1000000
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        conn.execute("select hookline.premake_partitions()")
        # Another benchmark on the same database may have left them paused, another limit or a
        # breaker (crowded_claims.py set every endpoint of tenant 'bench' to max_in_flight 1,
        # and a drain at one delivery a claim measured the round trip, not the backlog: 0.03).
        reset_endpoints(conn, {"bench": 10000, "bench-large": 10000})
        small, big = backlogs(conn, 2 * drained, large, drained, batch)
        # Fresh before and after the history case (the mean), so that a change of the machine's
        # load between the phases moves both sides of the ratio alike.
        fresh = case(dsn, conn, 2 * drained, drained, batch)["no vacuum"]
        aged = case(dsn, conn, 2 * drained, drained, batch, history=large)
        fresh = (fresh + case(dsn, conn, 2 * drained, drained, batch)["no vacuum"]) / 2
        conn.execute(SETUP)
    base = baseline(dsn, 20000, 100)
    print(f"batch {batch}, {drained} drained per case; baseline SKIP LOCKED b100: {base:.0f}/s")
    rows = [
        (f"backlog {2 * drained} (in turns with the next)", small),
        (f"backlog {large}", big),
        ("fresh", fresh),
        (f"after {large} of history, no vacuum", aged["no vacuum"]),
        (f"after {large} of history, vacuumed", aged["after vacuum"]),
    ]
    for name, rate in rows:
        print(f"  {name:<46} {rate:8.0f}/s  {rate / base:.2f}x baseline")
    print(f"backlog {large} / backlog {2 * drained} = {big / small:.2f}")
    print(f"history (no vacuum) / fresh = {aged['no vacuum'] / fresh:.2f}; "
          f"history (vacuumed) / fresh = {aged['after vacuum'] / fresh:.2f}; "
          f"history, no vacuum / vacuumed = {aged['no vacuum'] / aged['after vacuum']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
