"""Crowded claims from several processes: more endpoints have due work than a claim takes, each
endpoint with a small max_in_flight. Do more processes drain more, or queue for the same
endpoints and find them full?

    python benchmarks/crowded_claims.py "postgresql://.../scratch" [endpoints] [per] [batch]

It makes `endpoints` active endpoints of tenant 'bench' (default 200, kept between runs) with
max_in_flight 1, queues `per` due deliveries for each (default 20), and drains them with 1 and
then 3 processes, each on its own connection claiming `batch` rows (default 4) and completing
them at once (the runner's statements, `queries.CLAIM` and `queries.COMPLETE`, all 2xx, no
HTTP), in the order 1, 3, 3, 1. It prints deliveries per second (means of two runs), the share
of claims that came back empty while work was queued, and 3 processes / 1 (the baseline of
the same run). `--functions OTHER/functions` measures another version's functions.

Use a database you can throw away: it truncates hookline's queue tables.
"""

from __future__ import annotations

import statistics
import sys

import psycopg
from bench_common import prepare, reset_endpoints
from delivery_backlog import SETUP
from hot_endpoint import drain
from many_endpoints import QUEUE


def run(dsn: str, endpoints: int, per: int, batch: int, procs: int) -> tuple[float, float]:
    """Deliveries per second and the share of empty claims."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SETUP)
        conn.execute(QUEUE, {"k": per * endpoints, "n": endpoints})
        conn.execute("vacuum analyze hookline.deliveries")
    rate, ends = drain(dsn, batch, procs)
    return rate, sum(e[2] for e in ends) / sum(e[1] for e in ends)


def main() -> None:
    dsn = sys.argv[1]
    endpoints, per, batch = ([int(a) for a in sys.argv[2:5]] + [200, 20, 4][len(sys.argv[2:5]) :])[:3]  # fmt: skip
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        conn.execute("select hookline.premake_partitions()")
        have = conn.execute(
            "select count(*) from hookline.endpoints where tenant_id = 'bench' and name like 'crowd-%%'"
        ).fetchone()[0]
        with conn.transaction():
            for i in range(have, endpoints):
                conn.execute("select hookline.add_endpoint('bench', %s, 'http://127.0.0.1:9/')", (f"crowd-{i}",))  # fmt: skip
        # Only these endpoints are active, each with room for one delivery.
        reset_endpoints(conn, {f"crowd-{i}": 1 for i in range(endpoints)})
    figures: dict[int, list[tuple[float, float]]] = {1: [], 3: []}
    for procs in (1, 3, 3, 1):
        figures[procs].append(run(dsn, endpoints, per, batch, procs))
    rate = {p: statistics.mean(r for r, _ in f) for p, f in figures.items()}
    empty = {p: statistics.mean(e for _, e in f) for p, f in figures.items()}
    print(f"{endpoints} endpoints with {per} due each, max_in_flight 1, claims of {batch}:")
    for p in (1, 3):
        print(f"  {p} process{'es' if p > 1 else ''}: {rate[p]:,.0f} deliveries/s, "
              f"{empty[p]:.0%} of claims empty")  # fmt: skip
    print(f"3 processes / 1 = {rate[3] / rate[1]:.2f}")


if __name__ == "__main__":
    main()
