"""HTTP delivery of one runner against a bare aiohttp loop, same concurrency, same target.

    .venv/bin/python benchmarks/runner_http.py [--deliveries 10000] [--concurrency 8 32 128]

The target is nginx from the system (`apt-get install nginx-light`), started on a free port of
127.0.0.1 with a throw-away configuration that answers every POST `200 ok`. The database is a
private PostgreSQL (durable settings) in a temporary directory. For each concurrency C:

- baseline: C aiohttp tasks sharing one ClientSession (connection limit C) POST the same
  bodies, unsigned, as fast as the target answers: requests per second;
- hookline: that many deliveries queued for one endpoint (max_in_flight high enough that the
  runner's --concurrency is the limit), then one `hookline runner --concurrency C` process
  claims, signs, POSTs and records them: deliveries per second, from the first to the last
  recorded attempt.

Each is measured --rounds times, alternating; printed: the best rate of each and the ratio
(issue 11's goal: at least 0.5, flat or rising with C). The machine is usually shared: the
ratio of the same run is the figure, not the rates.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.integration.conftest import RunnerProcess

from hookline.migrator import Migrator
from hookline.pgcluster import LocalPostgres, free_port

BODY = b'{"type":"whatsapp.message.text","timestamp":"2026-01-01T00:00:00Z","data":{"i":1}}' * 3
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
            asyncio.run(bare(url, 1, 1))
            return proc, url
        except aiohttp.ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


async def bare(url: str, total: int, concurrency: int) -> float:
    """Requests per second of `concurrency` tasks POSTing `total` bodies through one session."""
    left = total

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            async with session.post(url, data=BODY) as resp:
                await resp.read()
                assert resp.status == 200

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return total / (time.perf_counter() - started)


def hookline_rate(dsn: str, total: int, concurrency: int, round_: int) -> float:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("truncate hookline.attempts")
        conn.execute(
            "select hookline.ingest('bench', 'c' || %s || '-' || %s || '-' || i, 'bench.x', "
            "jsonb_build_object('i', i)) from generate_series(1, %s) i",
            (concurrency, round_, total),
        )
        runner = RunnerProcess(dsn, f"bench-{concurrency}", "--concurrency", str(concurrency),
                               "--batch", str(min(concurrency, 64)))  # fmt: skip
        try:
            while conn.execute("select count(*) from hookline.deliveries").fetchone()[0]:
                time.sleep(0.2)
                assert runner.proc.poll() is None, runner.output()
        finally:
            runner.stop()
        done, seconds = conn.execute(
            "select count(*) filter (where outcome = 'succeeded'), "
            "extract(epoch from max(attempted_at) - min(attempted_at)) from hookline.attempts"
        ).fetchone()
        assert done == total, f"{done} of {total} deliveries succeeded"
        return total / float(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--rounds", type=int, default=2)
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
        print(f"{'concurrency':>11}  {'runner/s':>9}  {'bare aiohttp/s':>14}  ratio")
        for c in args.concurrency:
            baseline, runner = 0.0, 0.0
            for r in range(args.rounds):
                baseline = max(baseline, asyncio.run(bare(url, args.deliveries, c)))
                runner = max(runner, hookline_rate(dsn, args.deliveries, c, r))
            print(
                f"{c:>11}  {runner:>9.0f}  {baseline:>14.0f}  {runner / baseline:.2f}x", flush=True
            )
    finally:
        nginx.terminate()
        nginx.wait()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
