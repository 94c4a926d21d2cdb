"""Bulk enqueue: `hookline.ingest_many` against one `hookline.ingest` call per event in the same
statement (what the peers harness's bulk enqueue does, the SQL API having had no batch ingest),
in the same run, on a scratch database.

    python benchmarks/ingest_many.py "postgresql://.../scratch" [events] [batch]

Deploys the schema, tenant and source `bench`, endpoint `ingest-bench` subscribed to
`ingest-bench.*` (each event makes one delivery; the endpoint stays active until another
benchmark pauses it, and nothing here claims them: retention or a drop of the database removes
them), then stores `events` (default 20,000) 1 KiB events in transactions of `batch` (default
1,000) events each way, alternating batch by batch (a drift of the machine touches both alike),
and prints events per second of each and the ratio. Use a database you can throw away.
"""

from __future__ import annotations

import time
import uuid

import psycopg
from bench_common import arguments, prepare, subscribed_endpoint
from psycopg.types.json import Jsonb

PER_EVENT = """
select count(*) from unnest(%(ids)s::text[], %(payloads)s::jsonb[]) as u(ext, payload)
cross join lateral hookline.ingest(source => 'bench', external_id => u.ext, event_type => 'ingest-bench.event',
                                   payload => u.payload) i
"""
MANY = """
select count(*) from hookline.ingest_many(source => 'bench', external_ids => %(ids)s::text[],
  event_types => array_fill('ingest-bench.event'::text, array[cardinality(%(ids)s::text[])]), payloads => %(payloads)s::jsonb[])
"""


def payload(seq: int) -> dict:
    return {"type": "invoice.payment_succeeded", "seq": seq,
            "data": {"object": {"id": f"in_{seq}", "amount_paid": 4200, "description": "x" * 900}}}  # fmt: skip


def main() -> None:
    dsn, total, batch = arguments(default_total=20000)
    batch = batch if batch != 64 else 1000  # bench_common's default batch is a claim's
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        subscribed_endpoint(conn, "ingest-bench")
        run = uuid.uuid4().hex[:12]
        seconds = {PER_EVENT: 0.0, MANY: 0.0}
        stored = {PER_EVENT: 0, MANY: 0}
        for start in range(0, total, batch):
            for query, tag in ((PER_EVENT, "one"), (MANY, "many")):
                seqs = range(start, min(start + batch, total))
                args = {"ids": [f"{run}-{tag}-{s}" for s in seqs],
                        "payloads": [Jsonb(payload(s)) for s in seqs]}  # fmt: skip
                t = time.perf_counter()
                stored[query] += conn.execute(query, args).fetchone()[0]
                seconds[query] += time.perf_counter() - t
    one, many = stored[PER_EVENT] / seconds[PER_EVENT], stored[MANY] / seconds[MANY]
    print(f"ingest per event: {stored[PER_EVENT]} events, {one:.0f} events/s")
    print(f"ingest_many: {stored[MANY]} events, {many:.0f} events/s")
    print(f"ingest_many / ingest per event = {many / one:.2f}")


if __name__ == "__main__":
    main()
