"""Server time per `hookline.receive_many` call (a group) for groups of 1, 4 and 16 signed
one-message WhatsApp requests, against another version of `functions/` in the same run.

    .venv/bin/python benchmarks/receive_many_calls.py [--against OTHER/functions] [--calls 300]
        [--other-unprepared] [--durable]

One private PostgreSQL in a temporary directory (not durable: the commit's WAL flush is left
out, so the figure is the call's own work, what a group costs the server whatever the disk;
with --durable, fsync and synchronous_commit on as in production: each call's commit waits
for its WAL flush, whose CPU then counts too),
one database per version: this checkout's `functions/` and, with --against, another checkout's
(both on this checkout's migrations). Each database has one source, one endpoint and a
subscription matching every event, so each request stores a raw request, one event and one
delivery. Every request is `tests/fixtures/text.json` with a wamid of its own (no duplicates).
For each group size, alternating between the versions, --rounds times: --calls calls one after
the other from psycopg (the ingress's query, binary parameters, a prepared statement as the
ingress makes it on a connection of its own; with --other-unprepared, the other version's calls
are not prepared: the ingress before 2026-11-30, or behind a pooler), after 30 warm-up calls
(the function's plans cached). Printed: the median ms per call and per request of each version,
the ratio (this checkout / the other: below 1 is faster), the backend's CPU time per call
(user + system, from /proc: what the call costs the server's cores, which a loaded machine
disturbs less than the elapsed time) and its ratio, and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from hookline import queries
from hookline.migrator import Migrator
from hookline.pgcluster import LocalPostgres

HERE = Path(__file__).resolve().parent
TEMPLATE = (HERE.parent / "tests" / "fixtures" / "text.json").read_text().strip()
SIZES = (1, 4, 16)


class Version:
    """One database deployed with one version of functions/, and its calls' timings."""

    def __init__(
        self, pg: LocalPostgres, name: str, functions: Path | None, *, prepared: bool = True
    ) -> None:
        with psycopg.connect(pg.dsn(), autocommit=True) as admin:
            admin.execute(f"create database {name}")
        dsn = pg.dsn(name)
        Migrator(dsn, functions=functions).deploy()
        self.name = name
        # Prepared from the first call, as the ingress prepares on a connection of its own;
        # else never (behind a pooler, and the ingress before 2026-11-30).
        self.conn = psycopg.connect(dsn, autocommit=True, prepare_threshold=0 if prepared else None)
        self.conn.execute(
            "select hookline.add_source('bench', 'bench', 'whatsapp', 's', null, 65536, true)"
        )
        self.conn.execute(
            "select hookline.add_endpoint(tenant => 'bench', name => 'sink', url => 'http://127.0.0.1:9/hook')"
        )
        self.conn.execute("select hookline.add_subscription(endpoint => 'sink', event_type_pattern => '*')")  # fmt: skip
        self.sent = 0
        self.times: dict[int, list[float]] = {n: [] for n in SIZES}
        self.cpu: dict[int, float] = dict.fromkeys(SIZES, 0.0)  # the backend's CPU seconds

    def call(self, n: int) -> float:
        bodies = []
        for _ in range(n):
            self.sent += 1
            bodies.append(TEMPLATE.replace("wamid.HBgL1", f"wamid.{self.name}.{self.sent}"))
        params = {
            "sources": ["bench"] * n,
            "bodies": bodies,
            "raws": [b.encode() for b in bodies],
            "headers": [Jsonb({}) for _ in bodies],
            "sanitized": None,
        }
        start = time.perf_counter()
        rows = self.conn.execute(queries.RECEIVE_MANY, params).fetchall()
        elapsed = time.perf_counter() - start
        if len(rows) != n or any(r[4] is not None or r[3] != 1 for r in rows):
            raise SystemExit(f"receive_many_calls: {self.name}: unexpected answers {rows}")
        return elapsed

    def run(self, n: int, calls: int) -> None:
        for _ in range(30):
            self.call(n)
        start = backend_cpu(self.conn)
        self.times[n] += [self.call(n) for _ in range(calls)]
        self.cpu[n] += backend_cpu(self.conn) - start

    def median_ms(self, n: int) -> float:
        return statistics.median(self.times[n]) * 1000

    def cpu_ms(self, n: int) -> float:
        return self.cpu[n] / len(self.times[n]) * 1000


def backend_cpu(conn: psycopg.Connection) -> float:
    """User + system CPU seconds of the connection's server process (fields 14 and 15 of
    /proc/PID/stat, in clock ticks)."""
    fields = Path(f"/proc/{conn.info.backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, help="another checkout's functions/ folder")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--other-unprepared", action="store_true",
        help="call the other version without prepared statements (the ingress before 2026-11-30)",
    )  # fmt: skip
    parser.add_argument(
        "--durable", action="store_true", help="fsync and synchronous_commit on: the flush counts"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hookline-bench-receive-many-"))
    root.chmod(0o755)
    pg = LocalPostgres(root / "pg", password=False, cron=False, durable=args.durable)
    try:
        pg.start()
        versions = [Version(pg, "this", None)]
        if args.against:
            versions.append(
                Version(pg, "other", args.against.resolve(), prepared=not args.other_unprepared)
            )
        for _ in range(args.rounds):
            for n in SIZES:
                for v in versions:
                    v.run(n, args.calls)
        head = f"{'group':>5}  {'this: ms/call':>13}  {'ms/request':>10}  {'CPU ms/call':>11}"
        if args.against:
            head += f"  {'other: ms/call':>14}  {'ms/request':>10}  {'CPU ms/call':>11}  ratio  CPU ratio"
        print(head + "  load")
        for n in SIZES:
            this, this_cpu = versions[0].median_ms(n), versions[0].cpu_ms(n)
            line = f"{n:>5}  {this:>13.3f}  {this / n:>10.3f}  {this_cpu:>11.3f}"
            if args.against:
                other, other_cpu = versions[1].median_ms(n), versions[1].cpu_ms(n)
                line += f"  {other:>14.3f}  {other / n:>10.3f}  {other_cpu:>11.3f}  {this / other:>5.2f}  {this_cpu / other_cpu:>9.2f}"
            print(f"{line}  {os.getloadavg()[0]:.1f}", flush=True)
        for v in versions:
            v.conn.close()
    finally:
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
