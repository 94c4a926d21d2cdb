"""The outbox's answers that are not plain successes, against plain successes in the same run.

    python benchmarks/outbox_failures.py "postgresql://.../scratch" [messages] [batch]
        [--functions OTHER/functions]

An outage of the Graph API makes every answer a failure, and every message sent makes up to
three status webhooks (sent, delivered, read): both are hot paths, and each should cost about
what a success costs. Deploys the schema, a tenant, a source and a sender allowed 10,000
messages a second whose breaker never opens (so that failures keep being claimed), then, for
each kind below, `messages` (default 3,200) messages to recipients of their own, claimed and
answered in batches of `batch` (default 64) from one session, a batch of each kind in turn,
and prints the median time of a batch's call per message (its commit left out: that is the disk's time) and its ratio to the
plain kind of the same part:

1. `complete_messages` of a batch answered 2xx with a wamid (plain), 500 (transient: retried),
   a timeout (ambiguous: unconfirmed), 400 with code 131026 (permanent: failed), and the three
   failures mixed.
2. `receive_many` of a group of `batch` status webhooks, one status a request as Meta sends
   them, about sent messages: `delivered` about messages of no outbox row (plain: the events
   are stored, nothing to apply), `delivered`, and `failed` with code 131000 (transient).

Use a database you can throw away.
"""

from __future__ import annotations

import json
import statistics
import time

import psycopg
from bench_common import arguments, prepare, queue_fresh_messages
from psycopg.types.json import Jsonb

CLAIM = "select message_id, lease_token from hookline.claim_messages('bench', %s, '1 minute')"
COMPLETE = "select count(*) from hookline.complete_messages(%s)"
RECEIVE = (
    "select count(*) from hookline.receive_many(sources => %s::text[], bodies => %s::text[], "
    "raws => %s::bytea[], headers => %s::jsonb[])"
)
ANSWERS = {
    "2xx": lambda m: {"status_code": 200, "wamid": f"wamid.{m}"},
    "5xx": lambda m: {"status_code": 500},
    "timeout": lambda m: {"error_class": "timeout"},
    "131026": lambda m: {"status_code": 400, "error_code": 131026, "error_title": "Undeliverable"},
}


def claimed(conn: psycopg.Connection, batch: int) -> list[tuple[int, str]]:
    while True:
        rows = conn.execute(CLAIM, (batch,)).fetchall()
        if rows:
            return [(m, str(t)) for m, t in rows]
        time.sleep(0.01)  # the number's last second is full


def timed(conn: psycopg.Connection, query: str, args: tuple) -> float:
    """Seconds the call took, its commit left out (a flush of the WAL: the disk's time, not the
    function's)."""
    with conn.transaction():
        t = time.perf_counter()
        conn.execute(query, args)
        return time.perf_counter() - t


def complete_part(conn: psycopg.Connection, total: int, batch: int) -> dict[str, float]:
    kinds = {k: [k] for k in ANSWERS} | {"mixed": ["5xx", "timeout", "131026"]}
    queue_fresh_messages(conn, total * len(kinds), "complete-")
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(total // batch):
        for kind, answers in kinds.items():  # in turn: a drift of the machine touches all alike
            rows = claimed(conn, batch)
            results = [
                {"message_id": m, "lease_token": tok} | ANSWERS[answers[i % len(answers)]](m)
                for i, (m, tok) in enumerate(rows)
            ]
            times[kind].append(timed(conn, COMPLETE, (Jsonb(results),)) / len(rows))
    return {kind: statistics.median(t) * 1e6 for kind, t in times.items()}


def status_body(wamid: str, status: str) -> str:
    item = {"id": wamid, "status": status, "timestamp": "1749416501", "recipient_id": "16505551234"}
    if status == "failed":
        item["errors"] = [{"code": 131000, "title": "Something went wrong"}]
    return json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "1"},
            "statuses": [item]}}]}],
    })  # fmt: skip


def status_part(conn: psycopg.Connection, total: int, batch: int) -> dict[str, float]:
    kinds = {"unknown delivered": ("delivered", False), "delivered": ("delivered", True),
             "failed 131000": ("failed", True)}  # fmt: skip
    queue_fresh_messages(conn, total * len(kinds), "status-")
    times: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(total // batch):
        for kind, (status, known) in kinds.items():
            rows = claimed(conn, batch)
            done = [{"message_id": m, "lease_token": t, "status_code": 200,
                     "wamid": f"wamid.{m}"} for m, t in rows]  # fmt: skip
            conn.execute(COMPLETE, (Jsonb(done),))
            bodies = [
                status_body(f"wamid.{m}" if known else f"wamid.none.{m}", status) for m, _ in rows
            ]
            args = (
                ["bench"] * len(bodies),
                bodies,
                [b.encode() for b in bodies],
                [Jsonb({})] * len(bodies),
            )
            times[kind].append(timed(conn, RECEIVE, args) / len(rows))
    return {kind: statistics.median(t) * 1e6 for kind, t in times.items()}


def main() -> None:
    dsn, total, batch = arguments(default_total=3200)
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        conn.execute("select hookline.premake_partitions()")
        if not conn.execute(
            "select 1 from hookline.senders where phone_number_id = '1'"
        ).fetchone():
            conn.execute(
                "select hookline.add_sender('bench', '1', 'bench-token', messages_per_second => 10000)"
            )
        conn.execute(
            "select hookline.configure_breaker('sender:1', failure_rate => 1, "
            "min_requests => 1000000000, max_consecutive_failures => 1000000000)"
        )
        conn.execute("select hookline.set_breaker('sender:1', 'auto')")
        for title, part, plain in (
            ("complete_messages", complete_part, "2xx"),
            ("receive_many status groups", status_part, "unknown delivered"),
        ):
            figures = part(conn, total, batch)
            for kind, us in figures.items():
                print(
                    f"{title}, {kind}: {us:.1f} us a message, {us / figures[plain]:.2f} x {plain}"
                )


if __name__ == "__main__":
    main()
