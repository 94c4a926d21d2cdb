"""Claim + complete throughput of the outbox's SQL core alone (no HTTP), on a scratch database.

    python benchmarks/outbox_claim_complete.py "postgresql://.../scratch" [messages] [batch]

Deploys the schema, creates a tenant, a source and a sender allowed 10,000 messages a second,
queues the messages (each to its own recipient, so the pair limit holds nothing back), then
claims and completes them (all accepted, with a wamid) in batches from one session, and prints
messages per second. The rate window is per clock second, so a run faster than 10,000 a
second waits for the next second. Use a database you can throw away.
"""

from __future__ import annotations

import sys
import time

import psycopg
from psycopg.types.json import Jsonb

from hookline.migrator import Migrator


def main() -> None:
    dsn = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    Migrator(dsn).deploy()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "insert into hookline.tenants values ('bench', 'Bench') on conflict do nothing"
        )
        conn.execute(
            "insert into hookline.sources (tenant_id, name, kind, signing_secrets) "
            "values ('bench', 'bench', 'whatsapp', '{s}') on conflict do nothing"
        )
        if not conn.execute("select from hookline.senders where phone_number_id = '1'").fetchone():
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
    print(f"{done} messages, batch {batch}: claim {claim_s:.2f}s, complete {complete_s:.2f}s, "
          f"{done / (claim_s + complete_s):.0f} messages/s")  # fmt: skip


if __name__ == "__main__":
    main()
