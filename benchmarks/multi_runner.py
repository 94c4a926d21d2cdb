"""Several runners over 50 endpoints with skewed traffic: throughput per runner count, fairness,
and per-endpoint max_in_flight as the handlers saw it. One run measures 1, 2 and 4 runners.

    python benchmarks/multi_runner.py "postgresql://.../scratch" [events] [latency_ms] [pooled]

Deploys the schema, then makes 50 endpoints on a local HTTP target (127.0.0.1) that answers 200
after latency_ms (default 10). A quarter of the events (default 4,000) go to one hot endpoint
(16 times the traffic of each of the 49 others). For each runner count it starts that many
`hookline runner` processes, ingests the events and waits until the target has answered every
delivery; the events arrive in transactions of 40 (hot and cold interleaved), faster than they
are delivered, so a backlog builds. It prints:

- deliveries per second from the start of the ingest to the last answer, and the ratio to one
  runner (the baseline, measured in the same run; each count runs twice, in the order
  1, 2, 4, 4, 2, 1, and the figures are the means);
- max_in_flight as measured at the target: the most requests it was answering at once for the
  hot endpoint and for any cold one, next to their limits (they must hold across runners);
- fairness: when half of all deliveries had been answered, the share of its own deliveries the
  slowest cold endpoint had received (0.5 would be strictly proportional; 0 is starvation),
  and the moment the last cold endpoint was done, as a fraction of the whole drain.

With a fourth argument, the DSN of the same database through PgBouncer in transaction mode
(docs/scaling.md), it also runs 4 runners through it (LISTEN on the direct DSN) and prints
that row next to the direct ones.

Use a database you can throw away; the runners share the machine with PostgreSQL and the
target, so the figures say how hookline scales on this machine, not on a cluster.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from statistics import mean

import psycopg
from bench_common import prepare, reset_endpoints

ENDPOINTS = 50
HOT_LIMIT = 16  # max_in_flight of the hot endpoint
COLD_LIMIT = 4  # and of each of the others
# Each count twice, in mirrored order, so a load change on a shared machine during the run
# weighs on every count alike; the figures are the means. With a pooled DSN, 4 runners through
# it twice more, in the middle.
ROUNDS = (1, 2, 4, 4, 2, 1)
CHUNK = 40  # events per ingest transaction (a webhook carries one or a few)
MIN_EVENTS = 98  # the first event of the last cold endpoint is number 97


class Target(ThreadingHTTPServer):
    """Answers POST /e/<n> with 200 after the latency; records when and how many at once."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.lock = threading.Lock()
        self.at_once: dict[int, int] = defaultdict(int)
        self.most_at_once: dict[int, int] = defaultdict(int)
        self.done: dict[int, list[float]] = defaultdict(list)
        super().__init__(("127.0.0.1", 0), Handler)

    def reset(self) -> None:
        with self.lock:
            self.most_at_once.clear()
            self.done.clear()

    def answered(self) -> int:
        with self.lock:
            return sum(len(times) for times in self.done.values())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Target

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        endpoint = int(self.path.rsplit("/", 1)[1])
        target = self.server
        with target.lock:
            target.at_once[endpoint] += 1
            target.most_at_once[endpoint] = max(
                target.most_at_once[endpoint], target.at_once[endpoint]
            )
        time.sleep(target.latency_s)
        with target.lock:
            target.at_once[endpoint] -= 1
            target.done[endpoint].append(time.monotonic())
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def setup(dsn: str, target: Target) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        conn.execute(
            "insert into hookline.sources (tenant_id, name, kind, signing_secrets) "
            "values ('bench', 'multi-runner', 'whatsapp', '{s}') on conflict do nothing"
        )
        for n in range(ENDPOINTS):
            name = f"mr-{n:02d}"
            url = f"http://127.0.0.1:{target.server_port}/e/{n}"
            if conn.execute("select 1 from hookline.endpoints where name = %s", (name,)).fetchone():
                conn.execute("update hookline.endpoints set url = %s where name = %s", (url, name))
                continue
            conn.execute(
                "select hookline.add_endpoint('bench', %s, %s, max_in_flight => %s)",
                (name, url, HOT_LIMIT if n == 0 else COLD_LIMIT),
            )
            conn.execute(
                "select hookline.add_subscription(%s, %s, source => 'multi-runner')",
                (name, f"mr.{n:02d}"),
            )
        reset_endpoints(
            conn, {f"mr-{n:02d}": HOT_LIMIT if n == 0 else COLD_LIMIT for n in range(ENDPOINTS)}
        )
        left = conn.execute(
            "select count(*) from hookline.deliveries d join hookline.endpoints e "
            "using (endpoint_id) where e.name like 'mr-%'"
        ).fetchone()
        assert left == (0,), "deliveries of an earlier run are still queued: use a fresh database"


def start_runners(
    dsn: str, count: int, logs: Path, listen_dsn: str | None
) -> list[subprocess.Popen[bytes]]:
    listen = ["--listen-dsn", listen_dsn] if listen_dsn else []
    env = {k: v for k, v in os.environ.items() if k not in ("HOOKLINE_DSN", "DATABASE_URL")}
    procs = []
    for i in range(count):
        log = (logs / f"runner-{count}-{i}.log").open("wb")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "hookline", "runner", "--dsn", dsn, "--name", f"mr-{count}-{i}",
             "--concurrency", "32", "--batch", "32", "--poll", "1", "--metrics-port", "0", *listen],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        ))  # fmt: skip
    deadline = time.monotonic() + 60
    for i in range(count):
        path = logs / f"runner-{count}-{i}.log"
        while "started" not in path.read_text():
            assert procs[i].poll() is None, path.read_text()
            assert time.monotonic() < deadline, f"runner did not start: {path.read_text()}"
            time.sleep(0.05)
    time.sleep(1)  # the LISTEN connections are up
    return procs


def stop_runners(procs: list[subprocess.Popen[bytes]], logs: Path, count: int) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=60)
    for i, p in enumerate(procs):  # one that died early (say, on a taken port) did not deliver
        assert p.returncode == 0, (
            f"runner {i} of {count}: {(logs / f'runner-{count}-{i}.log').read_text()}"
        )
    for i in range(count):  # a runner's complaint would make the figures suspect: show it
        for line in (logs / f"runner-{count}-{i}.log").read_text().splitlines():
            if "failed" in line or "could not" in line or "unavailable" in line:
                print(f"  runner {i} of {count}: {line}")


def round_of(dsn: str, target: Target, runners: int, events: int, logs: Path,
             pooled: str | None) -> dict[str, float]:  # fmt: skip
    """One drain; with `pooled`, the runners go through that DSN and LISTEN on `dsn`."""
    target.reset()
    procs = start_runners(pooled or dsn, runners, logs, dsn if pooled else None)
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            started = time.monotonic()
            tag = f"r{runners}-{time.time_ns()}"
            for first in range(0, events, CHUNK):  # arriving while the runners work
                conn.execute(
                    "select hookline.ingest('multi-runner', %s || '-' || i, 'mr.' || "
                    "lpad((case when i %% 4 = 0 then 0 else 1 + i %% 49 end)::text, 2, "
                    "'0'), '{}'::jsonb) from generate_series(%s::int, %s::int) i",
                    (tag, first, min(first + CHUNK, events) - 1),
                )
        deadline = started + 600
        while target.answered() < events:
            assert time.monotonic() < deadline, "the runners did not drain the queue"
            time.sleep(0.02)
    finally:
        stop_runners(procs, logs, runners)
    with target.lock:
        done = {e: sorted(t) for e, t in target.done.items()}
        most = dict(target.most_at_once)
    every = sorted(t for times in done.values() for t in times)
    end, half = every[-1], every[len(every) // 2 - 1]
    cold = range(1, ENDPOINTS)
    return {
        "per_s": events / (end - started),
        "hot_max": most.get(0, 0),
        "cold_max": max(most.get(e, 0) for e in cold),
        "slowest_share": min(sum(t <= half for t in done[e]) / len(done[e]) for e in cold),
        "hot_share": sum(t <= half for t in done[0]) / len(done[0]),
        "cold_done_at": (max(done[e][-1] for e in cold) - started) / (end - started),
    }


def main() -> None:
    dsn = sys.argv[1]
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
    if events < MIN_EVENTS:  # event i goes to endpoint 0 when i % 4 = 0, else to 1 + i % 49
        sys.exit(f"multi_runner.py: EVENTS must be at least {MIN_EVENTS}, so that every cold "
                 f"endpoint gets some (got {events})")  # fmt: skip
    latency_ms = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    pooled = sys.argv[4] if len(sys.argv) > 4 else None
    plan = [(n, None) for n in ROUNDS]
    if pooled:
        plan[3:3] = [(4, pooled), (4, pooled)]
    target = Target(latency_ms / 1000)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    setup(dsn, target)
    print(f"{events} events, a quarter to one hot endpoint (max_in_flight {HOT_LIMIT}), the rest over "
          f"{ENDPOINTS - 1} cold ones (max_in_flight {COLD_LIMIT}); handlers answer in "
          f"{latency_ms} ms; runners: --concurrency 32 --batch 32")  # fmt: skip
    rounds: dict[str, list[dict[str, float]]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="hookline-multi-runner-") as logs:
        for runners, through in plan:
            r = round_of(dsn, target, runners, events, Path(logs), through)
            label = f"{runners}" + (" via the pooler" if through else "")
            rounds[label].append(r)
            print(f"  round: {label}, {r['per_s']:.0f} deliveries/s")
    base = mean(r["per_s"] for r in rounds["1"])
    print("runners  deliveries/s  vs 1 runner  most in flight hot/cold (limits)  "
          "slowest cold share at half  hot share at half  cold done at")  # fmt: skip
    for label, rs in sorted(rounds.items()):
        per_s = mean(r["per_s"] for r in rs)
        in_flight = f"{max(r['hot_max'] for r in rs):.0f}/{max(r['cold_max'] for r in rs):.0f}"
        print(f"{label:>7}  {per_s:>12.0f}  {per_s / base:>11.2f}  "
              f"{in_flight:>14} ({HOT_LIMIT}/{COLD_LIMIT}){'':>12}"
              f"{min(r['slowest_share'] for r in rs):>26.2f}  "
              f"{mean(r['hot_share'] for r in rs):>17.2f}  "
              f"{max(r['cold_done_at'] for r in rs):>12.2f}")  # fmt: skip
    target.shutdown()


if __name__ == "__main__":
    main()
