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

import time

import psycopg
from bench_common import arguments, baseline, prepare, reset_endpoints
from psycopg.types.json import Jsonb


def main() -> None:
    dsn, total, batch = arguments()
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        if not conn.execute("select 1 from hookline.endpoints where name = 'bench'").fetchone():
            conn.execute(
                "select hookline.add_endpoint('bench', 'bench', 'http://127.0.0.1:9/', max_in_flight => 10000)"
            )
            conn.execute("select hookline.add_subscription('bench', 'bench.*')")
        reset_endpoints(conn, {"bench": 10000})
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


if __name__ == "__main__":
    main()
