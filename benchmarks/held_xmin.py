"""Drain rate of the delivery core while a REPEATABLE READ transaction holds back the xmin horizon,
against the same run without it, on a scratch database.

    python benchmarks/held_xmin.py "postgresql://.../scratch" [backlog] [batch] [ingest_per_s]

Each case builds a backlog (default 100,000 pending deliveries of one endpoint, as ingest leaves
them), then one session claims and completes (the runner's statements, `queries.CLAIM` and
`queries.COMPLETE`, all 2xx, batch default 32) while a second session adds a steady ingest (default
2,000 deliveries a second, in inserts of 20), until the backlog and the ingest are drained. In the
"held" case a third session has opened a REPEATABLE READ transaction and taken its snapshot before
the drain, and keeps it open to the end, so vacuum can remove nothing the drain leaves behind.

It prints, per case: deliveries per second (the median of chunks of about 1,000), the mean claim
time, and deliveries' dead tuples at the end (pg_stat_user_tables); then held / free (goal >= 0.8).
The two cases alternate (free, held, free, held) and each figure is the median of its two runs.

Use a database you can throw away: it truncates hookline's queue tables.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from datetime import timedelta

import psycopg
from bench_common import only_bench_endpoint, prepare
from delivery_backlog import QUEUE, SETUP
from psycopg.types.json import Jsonb

from hookline import queries


def ingest(dsn: str, per_s: int, stop: threading.Event, tag: str) -> None:
    """Steady new work beside the drain: per_s deliveries a second, 20 per insert."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        i = 0
        start = time.perf_counter()
        while not stop.is_set():
            conn.execute(QUEUE.replace("now() - interval '1 hour'", "now()"),
                         {"tag": f"{tag}-{i}", "n": 20, "endpoint": "bench"})  # fmt: skip
            i += 1
            ahead = start + i * 20 / per_s - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)


def case(dsn: str, backlog: int, batch: int, per_s: int, held: bool, tag: str) -> dict[str, float]:  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SETUP)
        conn.execute("vacuum hookline.deliveries")
        conn.execute(QUEUE, {"tag": tag, "n": backlog, "endpoint": "bench"})
        conn.execute("vacuum analyze hookline.deliveries")
        conn.execute("checkpoint")
        holder = psycopg.connect(dsn)
        if held:
            holder.execute("set transaction isolation level repeatable read")
            holder.execute("select count(*) from hookline.endpoints")  # takes the snapshot
        stop = threading.Event()
        writer = threading.Thread(target=ingest, args=(dsn, per_s, stop, tag))
        writer.start()
        params = {"runner": "bench", "max_rows": batch, "lease": timedelta(seconds=30)}
        rates: list[float] = []
        claim_s: list[float] = []
        chunk_done, chunk_s = 0, 0.0
        done = 0
        try:
            while True:
                t = time.perf_counter()
                rows = conn.execute(queries.CLAIM, params).fetchall()
                claimed = time.perf_counter()
                if not rows:
                    if done >= backlog:
                        break
                    continue
                claim_s.append(claimed - t)
                results = [
                    {"delivery_id": r[0], "lease_token": str(r[1]), "status_code": 200}
                    for r in rows
                ]
                conn.execute(queries.COMPLETE, {"results": Jsonb(results)}).fetchall()
                chunk_s += time.perf_counter() - t
                chunk_done += len(rows)
                done += len(rows)
                if chunk_done >= 1000:
                    rates.append(chunk_done / chunk_s)
                    chunk_done, chunk_s = 0, 0.0
                if done >= backlog:
                    stop.set()  # then drain what the ingest left
        finally:
            stop.set()
            writer.join()
        conn.execute("select pg_stat_force_next_flush()")
        time.sleep(0.6)
        conn.execute("select pg_stat_clear_snapshot()")
        dead = conn.execute(
            "select n_dead_tup from pg_stat_user_tables "
            "where schemaname = 'hookline' and relname = 'deliveries'"
        ).fetchone()[0]
        holder.close()
    return {
        "rate": statistics.median(rates),
        "claim_ms": 1000 * statistics.mean(claim_s),
        "dead": dead,
        "drained": done,
    }


def main() -> None:
    dsn = sys.argv[1]
    backlog = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    per_s = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        only_bench_endpoint(conn, 10000)
    runs: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for n in range(2):
        for held in (False, True):
            runs[held].append(case(dsn, backlog, batch, per_s, held, f"x{n}{int(held)}"))
    print(f"backlog {backlog}, batch {batch}, ingest {per_s}/s beside the drain (median of 2 runs)")
    got = {}
    for held, name in ((False, "no held snapshot"), (True, "REPEATABLE READ held")):
        r = runs[held]
        got[held] = statistics.median(x["rate"] for x in r)
        claim = statistics.median(x["claim_ms"] for x in r)
        dead = max(x["dead"] for x in r)
        print(f"  {name:<22} {got[held]:8.0f}/s  claim {claim:.2f} ms  "
              f"dead tuples at the end {dead:.0f} (of {max(x['drained'] for x in r):.0f} drained)")  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SETUP)
    print(f"held / free = {got[True] / got[False]:.2f}")


if __name__ == "__main__":
    main()
