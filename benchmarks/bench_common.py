"""What the SQL-core benchmarks share: arguments, the scratch schema and tenant, and the
baseline they are measured against in the same run (a minimal hand-written SKIP LOCKED queue,
the "baseline" of the shared peers harness).

Every benchmark that deploys through this module (prepare() or deploy()) takes
`--functions OTHER/functions` anywhere on its command line: the functions of that folder
(another checkout's functions/) are deployed instead of this checkout's, over this checkout's
migrations, so an A/B of two versions of the functions is two runs of the same script on one
server. Without it a script measures the functions of the checkout it runs from, whatever
`hookline db deploy` put in the database before."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from hookline.migrator import Migrator


def _take_functions_option() -> Path | None:
    """The folder of `--functions FOLDER`, taken out of sys.argv when this module is imported,
    so that the scripts' positional arguments stay as documented."""
    if "--functions" not in sys.argv:
        return None
    at = sys.argv.index("--functions")
    if at + 1 >= len(sys.argv):
        raise SystemExit("--functions needs a folder: another checkout's functions/")
    folder = Path(sys.argv[at + 1]).resolve()
    del sys.argv[at : at + 2]
    if not (folder / "index.sql").is_file():
        raise SystemExit(f"--functions {folder}: no index.sql there (a checkout's functions/)")
    return folder


FUNCTIONS = _take_functions_option()


def deploy(dsn: str) -> None:
    """This checkout's migrations, then the functions of --functions or of this checkout."""
    Migrator(dsn, functions=FUNCTIONS).deploy()
    if FUNCTIONS:
        print(f"functions deployed from {FUNCTIONS}", flush=True)


def arguments() -> tuple[str, int, int]:
    """DSN, how many items (default 20,000) and the batch size (default 64) from argv."""
    dsn = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    return dsn, total, batch


def prepare(dsn: str, conn: psycopg.Connection) -> None:
    """Deploy the schema (deploy()) and make the tenant and source 'bench' (idempotent)."""
    deploy(dsn)
    conn.execute("insert into hookline.tenants values ('bench', 'Bench') on conflict do nothing")
    conn.execute(
        "insert into hookline.sources (tenant_id, name, kind, signing_secrets) "
        "values ('bench', 'bench', 'whatsapp', '{s}') on conflict do nothing"
    )


def only_bench_endpoint(conn: psycopg.Connection, max_in_flight: int) -> None:
    """Endpoint 'bench' (made if missing) active with this limit and no breaker, the tenant's
    others paused, so the benchmark's deliveries all go to one endpoint."""
    conn.execute("select hookline.premake_partitions()")
    reset_endpoints(conn, {"bench": max_in_flight})


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


def reset_endpoints(conn: psycopg.Connection, limits: dict[str, int]) -> None:
    """The endpoints named in limits (made if missing) active, each with its max_in_flight and
    without a breaker; every other endpoint of tenant 'bench' paused. Benchmarks share a scratch
    database, and each leaves its endpoints as it used them (paused, max_in_flight 1, a breaker
    forced open): every delivery benchmark sets the endpoint state it depends on through this."""
    names = list(limits)
    with conn.transaction():
        conn.execute(
            "select hookline.add_endpoint('bench', n, 'http://127.0.0.1:9/') from unnest(%s::text[]) n "
            "where not exists (select from hookline.endpoints e where e.name = n)",
            (names,),
        )
        conn.execute(
            "update hookline.endpoints e "
            "set state = case when e.name = any(%(names)s) then 'active' else 'paused' end, "
            "paused_reason = case when e.name = any(%(names)s) then null else 'bench' end, "
            "max_in_flight = coalesce((%(limits)s::jsonb ->> e.name)::int, e.max_in_flight) "
            "where e.tenant_id = 'bench'",
            {"names": names, "limits": Jsonb(limits)},
        )
        conn.execute(
            "delete from hookline.circuit_breakers b using hookline.endpoints e "
            "where e.name = any(%s) and b.target = 'endpoint:' || e.endpoint_id",
            (names,),
        )
