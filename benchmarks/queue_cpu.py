"""CPU per delivery of the queue mechanics (claim -> complete, no HTTP) against the hand-written
SKIP LOCKED baseline, on a scratch database of a PostgreSQL on this machine.

    python benchmarks/queue_cpu.py "postgresql://.../scratch" [deliveries] [batch] [rounds]

The peers harness (../shared/peers) times drains of several processes on a 2-core machine:
its ratio is CPU per job, client and server together, and moves ±30 % with anything else
running. This benchmark measures that CPU directly, so other load inflates it much less: one
session drains `deliveries` (default 20,000) 1 KiB events in batches of `batch` (default 100)
with the runner's own statements (`queries.CLAIM`, then `queries.COMPLETE` of all-2xx results
shaped as the runner's), and counts the backend's CPU time (from /proc: the server must run on
this machine) and this process's. Then the same for the baseline of the peers harness (one
table; claim = UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT batch)
RETURNING id, payload; complete = DELETE ... = ANY(ids)) with the same payloads. Each is
repeated `rounds` times (default 3) and the lowest counts. It prints microseconds of CPU per
delivery and the ratio baseline / hookline, which is what the harness's drain ratio
approaches when both are CPU-bound. Use a database you can throw away.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import timedelta

import psycopg
from bench_common import only_bench_endpoint, prepare
from psycopg.types.json import Jsonb

from hookline import queries

# The events' payloads, about 1 KiB of JSON text each as the peers harness's, made once in SQL
# (the enqueue is not what is measured) and read by both queues.
PAYLOADS = """
create temp table bench_payloads as
select i, jsonb_build_object('seq', i, 'id', 'evt_' || lpad(i::text, 16, '0'),
  'type', 'invoice.payment_succeeded', 'created', 1700000000 + i,
  'data', jsonb_build_object('object', jsonb_build_object('id', 'in_' || i,
    'customer', 'cus_0000000000000042', 'amount_paid', 4200, 'currency', 'eur',
    'lines', jsonb_build_array(jsonb_build_object('id', 'il_' || i, 'amount', 1400)),
    'description', repeat('x', 640)))) as payload
from generate_series(1, %(n)s::int) i
"""


def cpu_of(pid: int) -> float:
    """Seconds of CPU a process on this machine has used (user + system)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(conn: psycopg.Connection, drain) -> tuple[float, float, int]:
    """Backend and client CPU seconds of one drain, and how many it finished."""
    pid = conn.execute("select pg_backend_pid()").fetchone()[0]
    backend, client = cpu_of(pid), time.process_time()
    done = drain()
    return cpu_of(pid) - backend, time.process_time() - client, done


def hookline_round(conn: psycopg.Connection, batch: int) -> tuple[float, float, int]:
    run = str(time.time_ns())
    conn.execute(
        "select count(*) from bench_payloads p"
        " cross join lateral hookline.ingest('bench', %s || '-' || p.i, 'bench.event', p.payload)",
        (run,),
    )
    conn.execute("vacuum analyze hookline.deliveries")
    params = {"runner": "bench", "max_rows": batch, "lease": timedelta(seconds=30)}

    def drain() -> int:
        done = 0
        while rows := conn.execute(queries.CLAIM, params).fetchall():
            results = [
                {"delivery_id": r[0], "lease_token": str(r[1]), "runner": "bench", "status_code": 200,
                 "retry_after_s": None, "response_excerpt": "", "duration_ms": 0}
                for r in rows
            ]  # fmt: skip
            conn.execute(queries.COMPLETE, {"results": Jsonb(results)}).fetchall()
            done += len(rows)
        return done

    return measured(conn, drain)


def baseline_round(conn: psycopg.Connection, batch: int) -> tuple[float, float, int]:
    conn.execute("drop table if exists public.bench_cpu_jobs")
    conn.execute(
        "create table public.bench_cpu_jobs (id bigint generated always as identity primary key,"
        " payload jsonb not null, status text not null default 'queued', attempts int not null"
        " default 0, run_at timestamptz not null default now())"
    )
    conn.execute("create index on public.bench_cpu_jobs (run_at, id) where status = 'queued'")
    conn.execute(
        "insert into public.bench_cpu_jobs (payload) select p.payload from bench_payloads p"
    )
    conn.execute("vacuum analyze public.bench_cpu_jobs")

    def drain() -> int:
        done = 0
        while rows := conn.execute(
            "update public.bench_cpu_jobs set status = 'running', attempts = attempts + 1 "
            "where id in (select id from public.bench_cpu_jobs where status = 'queued' "
            "and run_at <= now() order by run_at, id limit %s for update skip locked) "
            "returning id, payload",
            (batch,),
        ).fetchall():
            conn.execute(
                "delete from public.bench_cpu_jobs where id = any(%s)", ([r[0] for r in rows],)
            )
            done += len(rows)
        return done

    result = measured(conn, drain)
    conn.execute("drop table public.bench_cpu_jobs")
    return result


def main() -> None:
    dsn = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        only_bench_endpoint(conn, 10000)
        conn.execute("select hookline.add_subscription('bench', 'bench.*')")
        conn.execute(PAYLOADS, {"n": total})
        best: dict[str, tuple[float, float]] = {}
        for _ in range(rounds):
            for name, one in (("hookline", hookline_round), ("baseline", baseline_round)):
                backend, client, done = one(conn, batch)
                per = (backend * 1e6 / max(done, 1), client * 1e6 / max(done, 1))
                print(f"{name}: {done} in batches of {batch}: backend {per[0]:.1f} us, "
                      f"client {per[1]:.1f} us CPU per delivery")  # fmt: skip
                if name not in best or sum(per) < sum(best[name]):
                    best[name] = per
    h, b = sum(best["hookline"]), sum(best["baseline"])
    print(json.dumps({"hookline_us": best["hookline"], "baseline_us": best["baseline"]}))
    print(f"CPU per delivery, lowest of {rounds}: hookline {h:.1f} us, baseline {b:.1f} us; "
          f"baseline / hookline = {b / h:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
