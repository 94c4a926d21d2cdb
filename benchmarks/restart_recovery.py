"""Recovery after an immediate PostgreSQL restart under load: how long after the server accepts
connections again the ingress answers its first 200 and the runner makes its first delivery,
against how long a fresh `psycopg.connect` loop takes to get in, in the same run.

    .venv/bin/python benchmarks/restart_recovery.py [--restarts 5] [--outage 1.0]

It starts a private PostgreSQL (pg_ctl from the system's binaries, durable settings) in a
temporary directory, deploys the schema, runs `hookline ingress` and `hookline runner` as
processes, a load of signed WhatsApp notifications (one at a time, a new wamid each) and a
handler on 127.0.0.1 answering 200. Each round stops the server with `pg_ctl -m immediate`,
waits --outage seconds, starts it (without waiting) and polls `psycopg.connect` every 5 ms:
the first success is the moment the server accepts connections. Printed per round and as
median / max: seconds from that moment to the first 200 and to the first delivery.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ingress_helpers import running_ingress
from tests.integration.conftest import RunnerProcess
from tests.integration.test_crashes import Load
from tests.integration.test_runner import add_endpoint
from tests.target import Target

from hookline.migrator import Migrator
from hookline.pgcluster import LocalPostgres


def start_without_waiting(pg: LocalPostgres) -> subprocess.Popen[bytes]:
    args = [str(pg.bindir / "pg_ctl"), "-D", str(pg.data), "-l", str(pg.root / "server.log"),
            "-o", f"-p {pg.port}", "-W", "start"]  # fmt: skip
    if pg.as_root:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/")


def first_connect(dsn: str) -> float:
    """Poll a fresh connection every 5 ms; the monotonic time of the first that gets in."""
    while True:
        try:
            psycopg.connect(dsn, connect_timeout=2).close()
            return time.monotonic()
        except psycopg.OperationalError:
            time.sleep(0.005)


def wait_for(check, what: str, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"restart_recovery: no {what} within {timeout} s")
        time.sleep(0.005)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restarts", type=int, default=5)
    parser.add_argument("--outage", type=float, default=1.0, help="seconds the server is down")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="hookline-bench-restart-"))
    pg = LocalPostgres(root, password=False, cron=False)
    target = Target().start()
    pg.start()
    runner = None
    try:
        with psycopg.connect(pg.dsn(), autocommit=True) as admin:
            admin.execute("create database bench")
        dsn = pg.dsn("bench")
        Migrator(dsn).deploy()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("select hookline.add_source('acme', 'wa', 'whatsapp', 's', 'vt', 65536, true)")  # fmt: skip
            add_endpoint(conn, "crm", target.url("/ok"), max_in_flight=32)
            conn.execute("select hookline.add_subscription(endpoint => 'crm', event_type_pattern => '*')")  # fmt: skip
        runner = RunnerProcess(dsn, "bench", "--lease", "5")
        to_200: list[float] = []
        to_delivery: list[float] = []
        connect: list[float] = []
        with running_ingress(dsn, root / "ingress.log", "--db-timeout", "2") as ingress:
            load = Load(f"{ingress.url}/webhooks/wa", "s")
            wait_for(lambda: len(target.requests) >= 20, "delivery before the first restart")
            for i in range(args.restarts):
                pg.stop("immediate")
                time.sleep(args.outage)
                starting = start_without_waiting(pg)
                up = first_connect(dsn)
                t = time.monotonic()
                psycopg.connect(dsn).close()
                connect.append(time.monotonic() - t)
                wait_for(lambda up=up: any(at > up for _, at in load.acked[-500:]), "200")
                wait_for(lambda up=up: any(r.at > up for r in target.requests[-500:]), "delivery")
                acked = min(at for _, at in load.acked if at > up)
                delivered = min(r.at for r in target.requests if r.at > up)
                starting.wait()
                to_200.append(acked - up)
                to_delivery.append(delivered - up)
                print(f"restart {i + 1}: first 200 after {acked - up:.3f} s, "
                      f"first delivery after {delivered - up:.3f} s")  # fmt: skip
                time.sleep(2)
            load.stop()
        print(f"first 200 after the server accepts connections: median {statistics.median(to_200):.3f} s, max {max(to_200):.3f} s")  # fmt: skip
        print(f"first delivery after the server accepts connections: median {statistics.median(to_delivery):.3f} s, max {max(to_delivery):.3f} s")  # fmt: skip
        print(f"a fresh psycopg.connect right after: median {statistics.median(connect):.3f} s, max {max(connect):.3f} s")  # fmt: skip
        print(f"ratio first 200 / fresh connect (medians): {statistics.median(to_200) / statistics.median(connect):.1f}x; "
              f"first delivery / fresh connect: {statistics.median(to_delivery) / statistics.median(connect):.1f}x")  # fmt: skip
        print(
            "(0 s = the moment a fresh psycopg.connect polled every 5 ms got in; target: both within 1 s)"
        )
    finally:
        if runner is not None:
            runner.stop()
        target.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
