"""Claim + complete throughput of the SQL core alone (no HTTP), on a scratch database.

    python benchmarks/claim_complete.py "postgresql://.../scratch" [deliveries] [batch]

Deploys the schema (`hookline db deploy`), creates a tenant, a source, an endpoint and a
subscription, ingests the deliveries, then claims and completes them (all 2xx) in batches from
one session, and prints deliveries per second. The baseline, measured in the same run on the
same database: a minimal hand-written SKIP LOCKED queue (one table; claim = UPDATE ... WHERE id
IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT batch) RETURNING; complete = DELETE ... = ANY(ids)),
the "baseline" of the shared peers harness. The ratio says what hookline's bookkeeping costs
(attempt log, states, leases, per-endpoint limits, event lookup). Use a database you can throw
away.
"""

from __future__ import annotations

import sys
import time

import psycopg
from psycopg.types.json import Jsonb

from hookline.migrator import Migrator


def main() -> None:
    dsn = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    Migrator(dsn).deploy()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "insert into hookline.tenants values ('bench', 'Bench') on conflict do nothing"
        )
        conn.execute(
            "insert into hookline.sources (tenant_id, name, kind, signing_secrets) "
            "values ('bench', 'bench', 'whatsapp', '{s}') on conflict do nothing"
        )
        if not conn.execute("select 1 from hookline.endpoints where name = 'bench'").fetchone():
            conn.execute(
                "select hookline.add_endpoint('bench', 'bench', 'http://127.0.0.1:9/', max_in_flight => 10000)"
            )
            conn.execute("select hookline.add_subscription('bench', 'bench.*')")
        run = str(time.time_ns())
        conn.execute(
            "select hookline.ingest('bench', %s || '-' || i, 'bench.event', '{}') "
            "from generate_series(1, %s::int) i",
            (run, total),
        )
        claim_s = complete_s = 0.0
        done = 0
        while True:
            t = time.perf_counter()
            rows = conn.execute(
                "select delivery_id, lease_token from hookline.claim('bench', %s, '1 minute')",
                (batch,),
            ).fetchall()
            claim_s += time.perf_counter() - t
            if not rows:
                break
            results = [
                {"delivery_id": d, "lease_token": str(tok), "status_code": 200} for d, tok in rows
            ]
            t = time.perf_counter()
            conn.execute("select count(*) from hookline.complete(%s)", (Jsonb(results),))
            complete_s += time.perf_counter() - t
            done += len(rows)
    rate = done / (claim_s + complete_s)
    print(f"hookline: {done} deliveries, batch {batch}: claim {claim_s:.2f}s, "
          f"complete {complete_s:.2f}s, {rate:.0f} deliveries/s")  # fmt: skip
    base = baseline(dsn, total, batch)
    print(f"baseline SKIP LOCKED queue: {base:.0f} jobs/s; hookline / baseline = {rate / base:.2f}")


def baseline(dsn: str, total: int, batch: int) -> float:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("drop table if exists public.bench_baseline_jobs")
        conn.execute(
            "create table public.bench_baseline_jobs (id bigserial primary key, "
            "status text not null default 'queued', run_at timestamptz not null default now(), "
            "attempts int not null default 0, payload jsonb not null)"
        )
        conn.execute(
            "create index on public.bench_baseline_jobs (run_at, id) where status = 'queued'"
        )
        conn.execute(
            "insert into public.bench_baseline_jobs (payload) "
            "select '{}'::jsonb from generate_series(1, %s::int)",
            (total,),
        )
        conn.execute("analyze public.bench_baseline_jobs")
        done, elapsed = 0, 0.0
        while True:
            t = time.perf_counter()
            ids = [
                r[0]
                for r in conn.execute(
                    "update public.bench_baseline_jobs set status = 'running', attempts = attempts + 1 "
                    "where id in (select id from public.bench_baseline_jobs where status = 'queued' "
                    "and run_at <= now() order by run_at, id limit %s for update skip locked) "
                    "returning id, payload",
                    (batch,),
                )
            ]
            if not ids:
                break
            conn.execute("delete from public.bench_baseline_jobs where id = any(%s)", (ids,))
            elapsed += time.perf_counter() - t
            done += len(ids)
        conn.execute("drop table public.bench_baseline_jobs")
    return done / elapsed


if __name__ == "__main__":
    main()
