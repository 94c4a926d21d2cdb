"""Webhook POST -> handler receipt on an idle system: a real `hookline ingress`, a real
`hookline runner` and a real handler (an HTTP server on 127.0.0.1 in this process that notes
when each delivery arrives), on a private PostgreSQL with durable settings.

    .venv/bin/python benchmarks/webhook_latency.py [-n 300] [--gap-ms 50]

Sends -n signed one-message WhatsApp notifications (each with a wamid of its own), one at a
time, --gap-ms apart (an idle system: nothing else is in flight when a POST starts), and
prints p50 / p99 / max of POST -> ack (the ingress's 200), ack -> receipt (the runner's wake-up,
claim and POST) and POST -> receipt (issue 11's goal: p99 <= 15 ms), with the load average.
The clock is this process's: the handler runs in a thread of it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ingress_helpers import FIXTURES, running_ingress, sign
from tests.integration.conftest import RunnerProcess

from hookline.migrator import Migrator
from hookline.pgcluster import LocalPostgres

SECRET = "bench-secret"
RECEIVED: dict[str, float] = {}
ARRIVED = threading.Condition()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        at = time.perf_counter()
        body = self.rfile.read(int(self.headers["content-length"]))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()
        data = json.loads(body)["data"]
        wamid = data["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        with ARRIVED:
            RECEIVED[wamid] = at
            ARRIVED.notify_all()

    def log_message(self, *_args: object) -> None:
        pass


def quantiles(values: list[float]) -> str:
    values = sorted(values)
    p99 = values[max(0, int(len(values) * 0.99) - 1)]
    return f"p50 {statistics.median(values):5.1f}  p99 {p99:5.1f}  max {values[-1]:5.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--gap-ms", type=float, default=50)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="hookline-bench-latency-"))
    root.chmod(0o755)
    pg = LocalPostgres(root / "pg", password=False, cron=False, durable=True)
    handler = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=handler.serve_forever, daemon=True).start()
    runner = None
    try:
        pg.start()
        with psycopg.connect(pg.dsn(), autocommit=True) as admin:
            admin.execute("create database bench")
        dsn = pg.dsn("bench")
        Migrator(dsn).deploy()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "select hookline.add_source('bench', 'bench', 'whatsapp', %s, null, 65536, true)",
                (SECRET,),
            )
            url = f"http://127.0.0.1:{handler.server_port}/hook"
            conn.execute("select hookline.add_endpoint(tenant => 'bench', name => 'handler', url => %s)", (url,))  # fmt: skip
            conn.execute("select hookline.add_subscription(endpoint => 'handler', event_type_pattern => '*')")  # fmt: skip
        runner = RunnerProcess(dsn, "latency")
        template = (FIXTURES / "text.json").read_bytes()
        ack, delivered, total = [], [], []
        with running_ingress(dsn, root / "ingress.log") as ingress, httpx.Client() as client:
            target = f"{ingress.url}/webhooks/bench"
            for i in range(-20, args.n):  # 20 warm-up POSTs, not counted
                wamid = f"wamid.lat{os.getpid()}x{i}"
                body = template.replace(b"wamid.HBgL1", wamid.encode())
                headers = {"content-type": "application/json",
                           "x-hub-signature-256": sign(SECRET, body)}  # fmt: skip
                time.sleep(args.gap_ms / 1000)
                start = time.perf_counter()
                response = client.post(target, content=body, headers=headers)
                acked = time.perf_counter()
                assert response.status_code == 200, response.text
                with ARRIVED:
                    assert ARRIVED.wait_for(lambda w=wamid: w in RECEIVED, 30), "not delivered"
                if i >= 0:
                    ack.append((acked - start) * 1000)
                    delivered.append((RECEIVED[wamid] - acked) * 1000)
                    total.append((RECEIVED[wamid] - start) * 1000)
        print(f"{args.n} POSTs {args.gap_ms:.0f} ms apart, load average {os.getloadavg()[0]:.1f}")
        print(f"POST -> ack      {quantiles(ack)} ms")
        print(f"ack -> receipt   {quantiles(delivered)} ms")
        print(f"POST -> receipt  {quantiles(total)} ms  (goal: p99 <= 15 ms)")
    finally:
        if runner is not None:
            runner.stop()
        handler.shutdown()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
