"""One hot endpoint, several claiming processes: does the drain rise, or do claims take turns?

    python benchmarks/hot_endpoint.py "postgresql://.../scratch" [backlog] [batch...]

For each batch size (default 32 and 1) and 1, 2 and 4 worker processes, it queues `backlog`
pending deliveries of one endpoint (default 20,000; a tenth of it for batch 1), then starts the
processes, each on its own connection claiming and completing (the runner's statements,
`queries.CLAIM` and `queries.COMPLETE`, all 2xx, no HTTP) until the queue is empty, and times
from their common start to the last one's end. It prints deliveries per second and the ratio to
one process measured in the same run (each count runs twice, in the order 1, 2, 4, 4, 2, 1; the
figures are the means), and the most deliveries the endpoint had in flight, sampled (its
max_in_flight is 128, four batches of 32, so that the limit does not decide the figure; it must
hold while they run).

Use a database you can throw away: it truncates hookline's queue tables.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import psycopg
from bench_common import only_bench_endpoint, prepare
from delivery_backlog import QUEUE, SETUP
from psycopg.types.json import Jsonb

from hookline import queries

LIMIT = 128


def worker(dsn: str, batch: int, ready, go, out) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        params = {"runner": f"w{mp.current_process().pid}", "max_rows": batch, "lease": timedelta(seconds=30)}  # fmt: skip
        conn.execute("select 1")
        ready.release()
        go.wait()
        done = claims = empty = 0
        while True:
            rows = conn.execute(queries.CLAIM, params).fetchall()
            claims += 1
            if not rows:
                # The endpoint's room may be taken by the others: look again until nothing is queued.
                if not conn.execute("select exists (select from hookline.deliveries)").fetchone()[
                    0
                ]:
                    break
                empty += 1
                continue
            results = [
                {"delivery_id": r[0], "lease_token": str(r[1]), "status_code": 200} for r in rows
            ]
            conn.execute(queries.COMPLETE, {"results": Jsonb(results)}).fetchall()
            done += len(rows)
        out.put((done, claims, empty, time.perf_counter()))


def drain(dsn: str, batch: int, procs: int, during: Callable[[threading.Event], None] | None = None) -> tuple[float, list[tuple]]:  # fmt: skip
    """Start procs worker processes, release them together, and wait until the queue is empty:
    deliveries per second from their common start to the last one's end, and what each one
    reported (done, claims, empty claims, end). during(stop), when given, runs in a thread
    meanwhile, until stop is set."""
    ctx = mp.get_context("fork")
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=worker, args=(dsn, batch, ready, go, out)) for _ in range(procs)]
    for w in workers:
        w.start()
    for _ in workers:
        ready.acquire()
    stop = threading.Event()
    side = threading.Thread(target=during, args=(stop,)) if during else None
    if side:
        side.start()
    start = time.perf_counter()
    go.set()
    ends = [out.get() for _ in workers]
    for w in workers:
        w.join()
    stop.set()
    if side:
        side.join()
    return sum(e[0] for e in ends) / (max(e[3] for e in ends) - start), ends


def run(dsn: str, backlog: int, batch: int, procs: int) -> tuple[float, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SETUP)
        conn.execute("vacuum hookline.deliveries")
        conn.execute(QUEUE, {"tag": f"h{procs}-{batch}-{time.time()}", "n": backlog, "endpoint": "bench"})  # fmt: skip
        conn.execute("vacuum analyze hookline.deliveries")
        conn.execute("checkpoint")
    most = [0]

    def sample(stop: threading.Event) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while not stop.is_set():
                n = conn.execute(
                    "select count(*) from hookline.deliveries where state = 'in_flight' and next_attempt_at > now()"
                ).fetchone()[0]
                most[0] = max(most[0], n)
                time.sleep(0.002)

    rate, _ = drain(dsn, batch, procs, sample)
    return rate, most[0]


def main() -> None:
    dsn = sys.argv[1]
    backlog = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    batches = [int(b) for b in sys.argv[3:]] or [32, 1]
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        only_bench_endpoint(conn, LIMIT)
    for batch in batches:
        n = backlog if batch > 1 else backlog // 10
        got: dict[int, list[float]] = {1: [], 2: [], 4: []}
        most: dict[int, int] = {1: 0, 2: 0, 4: 0}
        for procs in (1, 2, 4, 4, 2, 1):
            rate, seen = run(dsn, n, batch, procs)
            got[procs].append(rate)
            most[procs] = max(most[procs], seen)
        one = statistics.mean(got[1])
        print(f"batch {batch}, {n} deliveries of one endpoint (max_in_flight {LIMIT})")
        for procs, rates in got.items():
            rate = statistics.mean(rates)
            print(f"  {procs} process{'es' if procs > 1 else '  '} {rate:8.0f}/s  "
                  f"{rate / one:.2f}x one process  most in flight {most[procs]}")  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SETUP)


if __name__ == "__main__":
    main()
