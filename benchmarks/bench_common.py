"""What the SQL-core benchmarks share: arguments, the scratch schema and tenant, and the
baseline they are measured against in the same run (a minimal hand-written SKIP LOCKED queue,
the "baseline" of the shared peers harness)."""

from __future__ import annotations

import sys
import time

import psycopg

from hookline.migrator import Migrator


def arguments() -> tuple[str, int, int]:
    """DSN, how many items (default 20,000) and the batch size (default 64) from argv."""
    dsn = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    return dsn, total, batch


def prepare(dsn: str, conn: psycopg.Connection) -> None:
    """Deploy the schema and make the tenant and source 'bench' (idempotent)."""
    Migrator(dsn).deploy()
    conn.execute("insert into hookline.tenants values ('bench', 'Bench') on conflict do nothing")
    conn.execute(
        "insert into hookline.sources (tenant_id, name, kind, signing_secrets) "
        "values ('bench', 'bench', 'whatsapp', '{s}') on conflict do nothing"
    )


def only_bench_endpoint(conn: psycopg.Connection, max_in_flight: int) -> None:
    """Endpoint 'bench' (made if missing) active with this limit, the tenant's others paused,
    so the benchmark's deliveries all go to one endpoint."""
    conn.execute("select hookline.premake_partitions()")
    conn.execute(
        "update hookline.endpoints set state = 'paused', paused_reason = 'bench' "
        "where name <> 'bench' and tenant_id = 'bench'"
    )
    if not conn.execute("select 1 from hookline.endpoints where name = 'bench'").fetchone():
        conn.execute("select hookline.add_endpoint('bench', 'bench', 'http://127.0.0.1:9/')")
    conn.execute(
        "update hookline.endpoints set state = 'active', paused_reason = null, max_in_flight = %s "
        "where name = 'bench'",
        (max_in_flight,),
    )


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
