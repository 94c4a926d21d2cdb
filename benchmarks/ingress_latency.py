"""Latency of `hookline ingress` as WhatsApp sees it: sequential signed POSTs of a realistic
text notification (each with a new wamid) against a real ingress and database.

    .venv/bin/python benchmarks/ingress_latency.py --dsn "$HOOKLINE_DSN" [-n 2000]

It adds a source `bench-<pid>` (tenant `bench`), starts `hookline ingress` on a free port,
prints median / p99 / max in milliseconds, and removes the source (its events stay until
retention). Meta asks for a median under 250 ms and fewer than 1% over 1 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ingress_helpers import FIXTURES, running_ingress, sign

SECRET = "bench-secret"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dsn", default=os.environ.get("HOOKLINE_DSN"), required=False)
    parser.add_argument("-n", type=int, default=2000)
    args = parser.parse_args()
    if not args.dsn:
        parser.error("--dsn or HOOKLINE_DSN is required")
    name = f"bench-{os.getpid()}"
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute(
            "select hookline.add_source('bench', %s, 'whatsapp', %s, create_tenant => true)",
            (name, SECRET),
        )
    template = (FIXTURES / "text.json").read_bytes()
    latencies: list[float] = []
    try:
        log = Path(tempfile.mkdtemp(prefix="hookline-bench-")) / "ingress.log"
        with running_ingress(args.dsn, log) as ingress, httpx.Client() as client:
            url = f"{ingress.url}/webhooks/{name}"
            for i in range(args.n):
                body = template.replace(b"wamid.HBgL1", f"wamid.bench{os.getpid()}x{i}".encode())
                headers = {"content-type": "application/json",
                           "x-hub-signature-256": sign(SECRET, body)}  # fmt: skip
                start = time.perf_counter()
                response = client.post(url, content=body, headers=headers)
                latencies.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.text
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            conn.execute("select hookline.remove_source(%s)", (name,))
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"{args.n} POSTs: median {statistics.median(latencies):.1f} ms, "
        f"p99 {p99:.1f} ms, max {latencies[-1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
