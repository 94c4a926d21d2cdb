"""Claim + complete throughput of the outbox's SQL core alone (no HTTP), on a scratch database.

    python benchmarks/outbox_claim_complete.py "postgresql://.../scratch" [messages] [batch]

Deploys the schema, creates a tenant, a source and a sender allowed 10,000 messages a second,
queues the messages (each to its own recipient, so the pair limit holds nothing back), then
claims and completes them (all accepted, with a wamid) in batches from one session, and prints
messages per second, and the same-run baseline of `bench_common.py` with the ratio. The rate window is per clock second, so a run faster than 10,000 a
second waits for the next second. Use a database you can throw away.
"""

from __future__ import annotations

import time

import psycopg
from bench_common import arguments, baseline, prepare
from psycopg.types.json import Jsonb


def main() -> None:
    dsn, total, batch = arguments()
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        if not conn.execute(
            "select 1 from hookline.senders where phone_number_id = '1'"
        ).fetchone():
            conn.execute(
                "select hookline.add_sender('bench', '1', 'bench-token', messages_per_second => 10000)"
            )
        run = str(time.time_ns())
        conn.execute(
            "select hookline.send_message('bench', '+1' || (10000000000 + i)::text, "
            '\'{"type": "text", "text": {"body": "x"}}\', %s || \'-\' || i) '
            "from generate_series(1, %s::int) i",
            (run, total),
        )
        claim_s = complete_s = 0.0
        done = 0
        while done < total:
            t = time.perf_counter()
            rows = conn.execute(
                "select message_id, lease_token from hookline.claim_messages('bench', %s, '1 minute')",
                (batch,),
            ).fetchall()
            claim_s += time.perf_counter() - t
            if not rows:
                continue  # this second's window is full
            results = [
                {
                    "message_id": m,
                    "lease_token": str(tok),
                    "status_code": 200,
                    "wamid": f"wamid.{m}",
                }
                for m, tok in rows
            ]
            t = time.perf_counter()
            conn.execute("select count(*) from hookline.complete_messages(%s)", (Jsonb(results),))
            complete_s += time.perf_counter() - t
            done += len(rows)
    rate = done / (claim_s + complete_s)
    print(f"outbox: {done} messages, batch {batch}: claim {claim_s:.2f}s, "
          f"complete {complete_s:.2f}s, {rate:.0f} messages/s")  # fmt: skip
    base = baseline(dsn, total, batch)
    print(f"baseline SKIP LOCKED queue: {base:.0f} jobs/s; outbox / baseline = {rate / base:.2f}")


if __name__ == "__main__":
    main()
