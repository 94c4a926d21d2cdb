"""HTTP delivery of one runner against a bare aiohttp loop, same concurrency, same target.

    .venv/bin/python benchmarks/runner_http.py [--deliveries 20000] [--concurrency 8 32 128] [--rounds 3]

The target is nginx from the system (`apt-get install nginx-light`), started on a free port of
127.0.0.1 with a throw-away configuration that answers every POST `200 ok`. The database is a
private PostgreSQL (fsync off) in a temporary directory. For each concurrency C, --rounds
rounds, alternating:

- bare aiohttp: C aiohttp tasks sharing one ClientSession (connection limit C) POST the body
  the runner sends (a delivery's envelope, read from the database), unsigned, as fast as the
  target answers: requests per second, on asyncio's own event loop and on uvloop (the runner's);
- hookline: that many deliveries queued for one endpoint (max_in_flight high enough that the
  runner's --concurrency is the limit), then one `hookline runner --concurrency C` process
  (every other option at its default) claims, signs, POSTs and records them: deliveries per
  second, from the first to the last recorded attempt.

Printed per concurrency: the best rate of each, the ratios runner / bare aiohttp (issue 11's
goal: at least 0.5, flat or rising with C) and runner / bare aiohttp on uvloop, the CPU per
delivery (the runner's process, PostgreSQL's processes) and per request (the bare loop on
uvloop) of the best rounds, and the load average. The machine is usually shared: the ratio of
the same run is the figure, not the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import psycopg
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.conftest import RunnerProcess

from hookline.migrator import Migrator
from hookline.pgcluster import LocalPostgres, free_port

TICK = os.sysconf("SC_CLK_TCK")
NGINX = """
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {root};
  proxy_temp_path {root};
  fastcgi_temp_path {root};
  uwsgi_temp_path {root};
  scgi_temp_path {root};
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location / {{ return 200 "ok"; }}
  }}
}}
"""


def start_nginx(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise SystemExit("runner_http: nginx is not installed (apt-get install nginx-light)")
    port = free_port()
    conf = root / "nginx.conf"
    conf.write_text(NGINX.format(root=root, port=port))
    proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(root)], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/hook"
    deadline = time.monotonic() + 10
    while True:
        try:
            asyncio.run(bare(url, b"{}", 1, 1))
            return proc, url
        except aiohttp.ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


async def bare(url: str, body: bytes, total: int, concurrency: int) -> float:
    """Requests per second of `concurrency` tasks POSTing `total` bodies through one session."""
    left = total

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            async with session.post(url, data=body) as resp:
                await resp.read()
                assert resp.status == 200

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return total / (time.perf_counter() - started)


def cpu_of_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def bare_round(run: Callable[..., float], url: str, body: bytes, total: int, concurrency: int) -> tuple[float, float]:  # fmt: skip
    """(requests per second, CPU seconds per request) of one bare loop on `run`'s event loop."""
    before = cpu_of_self()
    rate = run(bare(url, body, total, concurrency))
    return rate, (cpu_of_self() - before) / total


def cpu_of(pids: list[int]) -> float:
    """User and system CPU seconds of these processes (those gone count nothing)."""
    seconds = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        seconds += (int(fields[11]) + int(fields[12])) / TICK
    return seconds


def queue(conn: psycopg.Connection, total: int, tag: str) -> None:
    conn.execute("truncate hookline.attempts")
    conn.execute(
        "select hookline.ingest('bench', %s || '-' || i, 'bench.x', jsonb_build_object('i', i)) "
        "from generate_series(1, %s) i",
        (tag, total),
    )
    conn.execute("vacuum analyze hookline.deliveries")


def envelope(conn: psycopg.Connection) -> bytes:
    """The body the runner sends for a queued delivery (hookline's envelope)."""
    (body,) = conn.execute(
        "select b.body from hookline.deliveries d"
        " join hookline.events e on e.event_id = d.event_id and e.received_at = d.event_received_at,"
        " hookline._delivery_body(e) b limit 1"
    ).fetchone()
    return body.encode()


def hookline_round(dsn: str, total: int, concurrency: int, tag: str) -> tuple[float, float, float]:
    """(deliveries per second, the runner's and PostgreSQL's CPU seconds per delivery)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        queue(conn, total, tag)
        runner = RunnerProcess(dsn, f"bench-{tag}", "--concurrency", str(concurrency))
        try:
            # CPU is counted from the first recorded attempt (the runner has started) on.
            while not (first := conn.execute("select count(*) from hookline.attempts").fetchone()[0]):  # fmt: skip
                time.sleep(0.005)
                assert runner.proc.poll() is None, runner.output()
            pg = [pid for (pid,) in conn.execute("select pid from pg_stat_activity")]
            before = cpu_of([runner.proc.pid]), cpu_of(pg)
            while conn.execute("select count(*) from hookline.deliveries").fetchone()[0]:
                time.sleep(0.05)
                assert runner.proc.poll() is None, runner.output()
            after = cpu_of([runner.proc.pid]), cpu_of(pg)
            done = conn.execute("select count(*) from hookline.attempts").fetchone()[0] - first
        finally:
            runner.stop()
        succeeded, seconds = conn.execute(
            "select count(*) filter (where outcome = 'succeeded'), "
            "extract(epoch from max(attempted_at) - min(attempted_at)) from hookline.attempts"
        ).fetchone()
        assert succeeded == total, f"{succeeded} of {total} deliveries succeeded"
        return total / float(seconds), (after[0] - before[0]) / done, (after[1] - before[1]) / done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="hookline-bench-http-"))
    root.chmod(0o755)
    pg = LocalPostgres(root / "pg", password=False, cron=False, durable=False)
    nginx, url = start_nginx(root)
    try:
        pg.start()
        with psycopg.connect(pg.dsn(), autocommit=True) as admin:
            admin.execute("create database bench")
        dsn = pg.dsn("bench")
        Migrator(dsn).deploy()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("select hookline.add_source('bench', 'bench', 'whatsapp', 's', null, 65536, true)")  # fmt: skip
            conn.execute("select hookline.add_endpoint(tenant => 'bench', name => 'nginx', url => %s, max_in_flight => 10000)", (url,))  # fmt: skip
            conn.execute("select hookline.add_subscription(endpoint => 'nginx', event_type_pattern => '*')")  # fmt: skip
            queue(conn, 1, "body")
            body = envelope(conn)
            conn.execute("truncate hookline.deliveries")
        print(
            f"{'C':>4} {'runner/s':>9} {'bare/s':>7} {'ratio':>6} {'bare uvloop/s':>13} "
            f"{'ratio':>6}  CPU ms per delivery: runner, PostgreSQL; bare uvloop per request; load"
        )
        for c in args.concurrency:
            best: dict[str, tuple[float, ...]] = {}
            for r in range(args.rounds):
                rounds = {
                    "bare": bare_round(asyncio.run, url, body, args.deliveries, c),
                    "uvloop": bare_round(uvloop.run, url, body, args.deliveries, c),
                    "hookline": hookline_round(dsn, args.deliveries, c, f"{c}-{r}"),
                }
                for name, figures in rounds.items():
                    if name not in best or figures[0] > best[name][0]:
                        best[name] = figures
            runner, runner_cpu, pg_cpu = best["hookline"]
            (plain, _), (fast, fast_cpu) = best["bare"], best["uvloop"]
            print(
                f"{c:>4} {runner:>9.0f} {plain:>7.0f} {runner / plain:>5.2f}x {fast:>13.0f} "
                f"{runner / fast:>5.2f}x  {runner_cpu * 1000:.3f}, {pg_cpu * 1000:.3f}; "
                f"{fast_cpu * 1000:.3f}; {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        nginx.terminate()
        nginx.wait()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
