"""What the runners' wake-up signal costs ingest: pgbench with 8 concurrent writers, each
transaction one `hookline.ingest` of a new event, on a scratch database.

    python benchmarks/ingest_notify.py "postgresql://.../scratch" [seconds per run]

Three settings, each run twice, alternating, in one run (pgbench -c 8 -j 2 -T seconds), each
with a runner without HTTP draining the queue (claim + complete, the runner's statements):

- no signal: the runner polls every 10 ms and never says it waits, so `hookline._wake`
  only reads its flag (the same as no NOTIFY line at all); the baseline;
- signal: the runner drains, registers as waiting (`hookline.next_due()`) and sleeps until
  notified, as `hookline runner` does;
- notify per transaction: what ingest did before (`pg_notify` in every writing transaction),
  emulated by a second statement in the pgbench transaction; the runner polls.

It prints tps of each, the ratios to the baseline (goal: signal >= 0.9), the notifications the
runner got, and the latency of an idle runner: 200 single ingests 10 ms apart, from just before
the ingest call to the claim that leases the delivery (p50/p99; goal p99 <= 10 ms).
Needs `pgbench` on PATH. Use a database you can throw away.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from bench_common import prepare, subscribed_endpoint
from psycopg.types.json import Jsonb

from hookline import queries

INGEST = (
    "\\set id random(1, 2000000000)\n"
    "select hookline.ingest('bench', 'n-' || :client_id || '-' || :id, 'bench.event', '{}');\n"
)
NOTIFY_EACH = (
    "\\set id random(1, 2000000000)\n"
    "begin;\n"
    "select hookline.ingest('bench', 'n-' || :client_id || '-' || :id, 'bench.event', '{}');\n"
    "select pg_notify('hookline_deliveries', '{\"due\":\"now\"}');\n"
    "commit;\n"
)


class Runner:
    """A runner without HTTP, with `hookline runner`'s loop: claim and complete what is due;
        when a claim finds nothing, either (wake=True) ask `next_due` (which registers the wait) and
        sleep until a notification, the due time (at least 50 ms) or 5 s, or (wake=False) poll every
        10 ms without ever registering. Records when each item was claimed and when each
    notification arrived. benchmarks/send_notify.py
        runs the outbox's loop through the names below."""

    LISTEN = queries.LISTEN_DELIVERIES
    CLAIM = queries.CLAIM
    COMPLETE = queries.COMPLETE
    NEXT_DUE = queries.SECONDS_TO_NEXT_DUE

    def __init__(self, dsn: str, wake: bool) -> None:
        self.dsn, self.wake = dsn, wake
        self.notes = 0
        self.claimed: list[float] = []
        self.woken: list[float] = []  # when each notification arrived
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        self.ready.wait()

    @staticmethod
    def result(row: tuple) -> dict:
        return {"delivery_id": row[0], "lease_token": str(row[1]), "status_code": 200}

    def _run(self) -> None:
        params = {"runner": "bench", "max_rows": 32, "lease": timedelta(seconds=30)}
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(self.LISTEN)
            self.ready.set()
            while not self.stop.is_set():
                rows = conn.execute(self.CLAIM, params).fetchall()
                if rows:
                    self.claimed.extend([time.perf_counter()] * len(rows))
                    results = [self.result(r) for r in rows]
                    conn.execute(self.COMPLETE, {"results": Jsonb(results)}).fetchall()
                    continue
                if not self.wake:
                    time.sleep(0.01)
                    continue
                (wait,) = conn.execute(self.NEXT_DUE).fetchone()
                timeout = 5.0 if wait is None else min(5.0, max(wait, 0.05))
                if list(conn.notifies(timeout=min(timeout, 0.5), stop_after=1)):
                    self.notes += 1
                    self.woken.append(time.perf_counter())

    def close(self) -> int:
        self.stop.set()
        self.thread.join()
        return self.notes


def pgbench(dsn: str, script: str, seconds: int) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script)
    try:
        run = subprocess.run(
            ["pgbench", "-n", "-c", "8", "-j", "2", "-T", str(seconds), "-f", f.name, dsn],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    finally:
        Path(f.name).unlink()
    if run.returncode:
        errors = [line for line in run.stderr.splitlines() if "error" in line]
        raise SystemExit(f"pgbench failed: {errors[:3] or run.stderr[-500:]}")
    return float(re.search(r"tps = ([0-9.]+)", run.stdout)[1])


def no_waiter(conn: psycopg.Connection) -> None:
    conn.execute("update hookline.runner_waits set is_waiting = false")


def signal_rounds(
    dsn: str, conn: psycopg.Connection, runner: type[Runner], write: str, notify_each: str,
    seconds: int, what: str,
) -> None:  # fmt: skip
    """pgbench of `write` without the signal (the runner polls and never says it waits), with
    it, and of `notify_each` (the old notify in every transaction), twice each, alternating;
    prints each setting's tps and its ratio to the first."""
    tps: dict[str, list[float]] = {"no signal": [], "signal": [], "notify per transaction": []}
    notes = 0
    settings = (("no signal", False, write), ("signal", True, write),
                ("notify per transaction", False, notify_each))  # fmt: skip
    for _round in range(2):
        for name, wake, script in settings:
            if not wake:
                no_waiter(conn)
            draining = runner(dsn, wake=wake)
            try:  # a failed pgbench must not leave the runner's thread running
                tps[name].append(pgbench(dsn, script, seconds))
            finally:
                drawn = draining.close()
            if wake:
                notes += drawn
    base = statistics.mean(tps["no signal"])
    print(f"pgbench -c 8 -j 2 -T {seconds}, one {what} per transaction, 2 runs each:")
    for name, values in tps.items():
        runs = " / ".join(f"{v:.0f}" for v in values)
        print(f"  {name:<24} {runs} tps; / no signal = {statistics.mean(values) / base:.2f}")
    print(f"  notifications drawn by the woken runner: {notes}")


def latency(dsn: str, conn: psycopg.Connection) -> list[float]:
    """Ingest call -> claim by an idle runner, for 200 single ingests 10 ms apart (ms)."""
    conn.execute("truncate hookline.deliveries")
    runner = Runner(dsn, wake=True)
    sent: list[float] = []
    for i in range(200):
        time.sleep(0.01)
        sent.append(time.perf_counter())
        conn.execute(
            "select hookline.ingest('bench', %s, 'bench.event', '{}')",
            (f"lat-{time.time_ns()}-{i}",),
        )
    time.sleep(0.2)
    runner.close()
    return [(c - s) * 1000 for s, c in zip(sent, runner.claimed, strict=False)]


def main() -> None:
    dsn = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        subscribed_endpoint(conn, "bench")
        signal_rounds(dsn, conn, Runner, INGEST, NOTIFY_EACH, seconds, "hookline.ingest")
        waits = sorted(latency(dsn, conn))
        conn.execute("truncate hookline.deliveries")
    p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
    print(f"idle runner, ingest call -> claimed: p50 {statistics.median(waits):.2f} ms, "
          f"p99 {p99:.2f} ms ({len(waits)} of 200 claimed)")  # fmt: skip


if __name__ == "__main__":
    main()
