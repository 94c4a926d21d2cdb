"""hookline's delivery core as a peer: ingest -> claim -> complete, the runner's SQL without HTTP.

install: `hookline db deploy --dsn DSN` (the CLI of a hookline venv, $HOOKLINE_BIN), then, with
  the public SQL API: add_source(create_tenant) 'bench' (standard-webhooks), one endpoint
  (http://127.0.0.1:9/hook; no HTTP is ever made) with max_in_flight 10000 (the maximum
  add_endpoint accepts; a drain holds at most batch x procs <= 400 leases), one subscription to
  the event type enqueued, and premake_partitions() (what the maintain_partitions job does in a
  running system; deploy alone leaves every event in the default partition).
enqueue: the product's entry point for one event, hookline.ingest(...), with the package's own
  statement (queries.INGEST) for single enqueues (autocommit, one transaction each). Bulk: the
  SQL API has no batch ingest (receive() takes one webhook request), so a batch is ONE statement
  in one transaction that calls hookline.ingest once per event:
      select count(*) from unnest($ids, $payloads) u cross join lateral hookline.ingest(...)
  Each ingest fans out one delivery and NOTIFYs hookline_deliveries (folded per transaction).
This is the peers harness's peer_hookline.py with complete's batch form: the runner hands
complete one array per field (queries.COMPLETE, runner.Runner.complete_arguments) instead of a
JSON array, so this peer does too. Point the harness's run.py at this file (it has the same
interface as the other peers, see the harness's common.py).

work: exactly the runner's statements (queries.CLAIM, queries.COMPLETE, queries.SECONDS_TO_NEXT_DUE,
  queries.LISTEN_DELIVERIES, loaded from hookline's own queries.py), on one autocommit connection
  per process: claim(runner, max_rows=batch, lease=30 s), then complete() with a 2xx result per
  delivery shaped like runner._deliver's ({delivery_id, lease_token, runner, status_code 200,
  retry_after_s null, response_excerpt "", duration_ms 0}), as one array per field. When a claim returns nothing the
  runner asks next_due(): due work that this claim skipped means another runner holds the
  endpoint row (claim locks it, skip locked), and the runner sleeps MIN_WAIT_S = 0.05 s
  (runner.py); we do the same. Drain mode ends when nothing is due (queue empty, or only other
  workers' leases left). Latency mode waits for a notification on hookline_deliveries, at most
  min(poll 5 s, next due), as the runner does.

Env: HOOKLINE_BIN (default: `hookline` on PATH, e.g. your venv's), HOOKLINE_SRC (the hookline
checkout whose queries.py is read; run.sh sets it to the directory it was started from), HOOKLINE_ENDPOINTS (default 1: endpoints,
each subscribed to its own event type; enqueues cycle through them).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import time
import uuid
from datetime import timedelta

import psycopg
from common import wait_go_sync
from psycopg.types.json import Jsonb

HOOKLINE_BIN = os.environ.get("HOOKLINE_BIN") or shutil.which("hookline") or "hookline"
HOOKLINE_SRC = os.environ.get("HOOKLINE_SRC") or os.getcwd()
ENDPOINTS = int(os.environ.get("HOOKLINE_ENDPOINTS", "1"))


def _load_queries():
    path = os.path.join(HOOKLINE_SRC, "python_runner", "hookline", "queries.py")
    spec = importlib.util.spec_from_file_location("hookline_queries", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


try:
    Q = _load_queries()
except OSError as exc:  # not run from a hookline checkout: the other peers still run
    Q = None
    _Q_ERROR = f"peer_hookline: no hookline queries.py under HOOKLINE_SRC={HOOKLINE_SRC} ({exc})"
SOURCE = "bench"
EVENT_TYPES = [f"invoice.payment_succeeded{'' if i == 0 else f'.e{i}'}" for i in range(ENDPOINTS)]
LEASE = timedelta(seconds=30)  # runner --lease default
MIN_WAIT_S = 0.05  # runner.py: floor of the sleep after an empty claim while work is due
POLL_S = 5.0  # runner --poll default

REMAINING_SQL = "SELECT count(*) FROM hookline.deliveries"  # succeeded rows are deleted

INGEST_MANY = """
select count(*) from unnest(%(ids)s::text[], %(types)s::text[], %(payloads)s::jsonb[]) as u(ext, typ, payload)
cross join lateral hookline.ingest(source => %(source)s, external_id => u.ext, event_type => u.typ,
                                   payload => u.payload) i
"""


async def install(dsn: str) -> None:
    if Q is None:
        raise SystemExit(_Q_ERROR)
    p = await asyncio.create_subprocess_exec(
        HOOKLINE_BIN,
        "db",
        "deploy",
        "--dsn",
        dsn,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    outp, _ = await p.communicate()
    if p.returncode != 0:
        raise RuntimeError(f"hookline db deploy failed ({p.returncode}): {outp.decode()[-500:]}")
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as c:
        await c.execute(
            "select hookline.add_source(tenant_id => 'bench', name => %s, kind => 'standard-webhooks',"
            " secret => 'whsec_YmVuY2hiZW5jaGJlbmNoYmVuY2g=', create_tenant => true)",
            (SOURCE,),
        )
        for i, et in enumerate(EVENT_TYPES):
            name = "bench" if i == 0 else f"bench{i}"
            await c.execute(
                "select * from hookline.add_endpoint(tenant => 'bench', name => %s,"
                " url => 'http://127.0.0.1:9/hook', max_in_flight => 10000)",
                (name,),
            )
            await c.execute(
                "select hookline.add_subscription(endpoint => %s, event_type_pattern => %s)",
                (name, et),
            )
        await c.execute("select hookline.premake_partitions()")


@contextlib.asynccontextmanager
async def sender(dsn: str):
    prefix = uuid.uuid4().hex[:12]  # external ids unique across senders on one database
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as c:

        async def one(b):
            await c.execute(
                Q.INGEST,
                {
                    "source": SOURCE,
                    "external_id": f"{prefix}-{b['seq']}",
                    "event_type": EVENT_TYPES[b["seq"] % ENDPOINTS],
                    "payload": Jsonb(b),
                    "occurred_at": None,
                },
            )

        async def many(bs):  # one transaction, one statement, one ingest() per event
            await c.execute(
                INGEST_MANY,
                {
                    "source": SOURCE,
                    "ids": [f"{prefix}-{b['seq']}" for b in bs],
                    "types": [EVENT_TYPES[b["seq"] % ENDPOINTS] for b in bs],
                    "payloads": [Jsonb(b) for b in bs],
                },
            )

        yield one, many


def complete_arguments(results: list[dict]) -> dict:
    """Q.COMPLETE's arguments, as the runner builds them (runner.Runner.complete_arguments):
    one list per field, result i at position i."""
    return {
        "delivery_ids": [r["delivery_id"] for r in results],
        "lease_tokens": [r["lease_token"] for r in results],
        "status_codes": [r.get("status_code") for r in results],
        "error_classes": [r.get("error_class") for r in results],
        "duration_ms": [r.get("duration_ms") for r in results],
        "retry_after_s": [r.get("retry_after_s") for r in results],
        "response_excerpts": [r.get("response_excerpt") for r in results],
        "runners": [r.get("runner") for r in results],
    }


def _warm(c, params) -> None:
    """Load claim/complete into this backend's plan caches without claiming anything."""
    with c.transaction():  # claimed rows (if any) go back: the transaction rolls back
        c.execute(Q.CLAIM, params).fetchall()
        raise psycopg.Rollback()
    c.execute(Q.COMPLETE, complete_arguments([])).fetchall()
    c.execute(Q.SECONDS_TO_NEXT_DUE).fetchone()


def work(dsn, setting, mode, n, timeout, ready, go, out):
    k = setting["batch"]
    runner = f"peers-{os.getpid()}"
    params = {"runner": runner, "max_rows": k, "lease": LEASE}
    lat, done, claims, empty = [], 0, 0, 0
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(Q.LISTEN_DELIVERIES)
        _warm(c, params)
        wait_go_sync(ready, go)
        deadline = time.time() + timeout
        t_end = time.time()
        while time.time() < deadline:
            rows = c.execute(Q.CLAIM, params).fetchall()
            claims += 1
            if rows:
                t_start = time.time()
                if mode == "latency":  # body is {"type", "timestamp", "data": <the payload>}
                    for r in rows:
                        b = json.loads(r[6])["data"]
                        lat.append((b["seq"], b["t_enq"], t_start))
                results = [
                    {
                        "delivery_id": r[0],
                        "lease_token": str(r[1]),
                        "runner": runner,
                        "status_code": 200,
                        "retry_after_s": None,
                        "response_excerpt": "",
                        "duration_ms": 0,
                    }
                    for r in rows
                ]
                c.execute(Q.COMPLETE, complete_arguments(results)).fetchall()
                done += len(rows)
                t_end = time.time()
                continue
            empty += 1
            (wait,) = c.execute(Q.SECONDS_TO_NEXT_DUE).fetchone()
            if mode == "drain":
                if wait is None or wait > 0:
                    break  # nothing due: empty, or only other workers' leases are left
                time.sleep(MIN_WAIT_S)  # due, but another worker's claim holds the endpoint
                continue
            if done >= n:
                break
            t = POLL_S if wait is None else min(POLL_S, max(wait, MIN_WAIT_S))
            for _ in c.notifies(timeout=min(t, max(0.0, deadline - time.time())), stop_after=1):
                pass
    out.put({"done": done, "t_end": t_end, "lat": lat, "claims": claims, "empty_claims": empty})
