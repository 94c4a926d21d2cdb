"""Claim + complete throughput of the outbox's SQL core alone (no HTTP), on a scratch database.

    python benchmarks/outbox_claim_complete.py "postgresql://.../scratch" [messages] [batch]

Deploys the schema, creates a tenant, a source and a sender allowed 10,000 messages a second,
then twice: queues the messages (each to a recipient of its own that no earlier run used, so
the pair limit holds nothing back), claims and completes them (all accepted, with a wamid) in
batches from one session. The second round runs on top of the first round's sent history.
Prints messages per second of each round (claims that found the number's last second full are
counted and their time left out: that is the rate limit working, not claim cost), the ratio of
the second round to the first (history), and the same-run baseline of `bench_common.py` with
the ratio. Use a database you can throw away.
"""

from __future__ import annotations

import time

import psycopg
from bench_common import arguments, baseline, prepare, queue_fresh_messages
from psycopg.types.json import Jsonb


def round_(conn: psycopg.Connection, total: int, batch: int) -> float:
    queue_fresh_messages(conn, total)
    claim_s = complete_s = 0.0
    done = full = 0
    while done < total:
        t = time.perf_counter()
        rows = conn.execute(
            "select message_id, lease_token from hookline.claim_messages('bench', %s, '1 minute')",
            (batch,),
        ).fetchall()
        if not rows:
            full += 1  # the number's last second is full: wait for it to move on
            time.sleep(0.01)
            continue
        claim_s += time.perf_counter() - t
        results = [
            {"message_id": m, "lease_token": str(tok), "status_code": 200, "wamid": f"wamid.{m}"}
            for m, tok in rows
        ]
        t = time.perf_counter()
        conn.execute("select count(*) from hookline.complete_messages(%s)", (Jsonb(results),))
        complete_s += time.perf_counter() - t
        done += len(rows)
    rate = done / (claim_s + complete_s)
    print(f"outbox: {done} messages, batch {batch}: claim {claim_s:.2f}s, complete {complete_s:.2f}s, "
          f"{rate:.0f} messages/s ({full} claims found the last second full)")  # fmt: skip
    return rate


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
        history = conn.execute("select count(*) from hookline.outbox").fetchone()[0]
        first = round_(conn, total, batch)
        second = round_(conn, total, batch)
    print(f"second round (on {history + total} messages of history) / first = {second / first:.2f}")
    base = baseline(dsn, total, batch)
    print(f"baseline SKIP LOCKED queue: {base:.0f} jobs/s; outbox / baseline = {first / base:.2f}")


if __name__ == "__main__":
    main()
