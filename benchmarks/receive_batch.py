"""`hookline.receive` on the batches Meta sends under load: one `messages` change with N text
messages (then N delivered statuses), each with its contact, from (to) N different users,
against the same N items of one user (the same-run baseline). Prints, per N: the receive time
(median of the runs, each with fresh wamids), the bytes stored in events (pg_column_size of the
payloads) and the ratios of the N-user batch to the 1-user batch. Linear splitting keeps both
ratios near 1 at every N. Then the N-user batch with a string sanitised in every item (the
pointers the ingress passes for characters jsonb cannot hold) against the same batch clean.
Last, the 1000-message batches as Meta sends them: signed POSTs to a
`hookline ingress` on a free port, answered 200 (the default statement timeout is 5 s).

    .venv/bin/python benchmarks/receive_batch.py "$HOOKLINE_DSN" [runs, default 3]

It deploys the schema, uses tenant and source `bench` and leaves the
events in place (retention removes them).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_common import prepare
from tests.ingress_helpers import running_ingress, sign

SECRET = "s"  # the secret bench_common.prepare gives source bench

SIZES = (1, 10, 100, 1000)


def batch(n: int, users: int, kind: str = "messages") -> bytes:
    """A realistic `messages` notification: n text messages from `users` users (round robin),
    or n delivered statuses of messages sent to them, one contact per user, escaped as Meta
    escapes non-ASCII."""
    tag = uuid.uuid4().hex[:12]
    contacts = [
        {"profile": {"name": f"Zo\u00eb Nguy\u1ec5n {u}"}, "wa_id": f"1650555{u:04d}",
         "user_id": f"US.{tag}{u:06d}"}
        for u in range(users)
    ]  # fmt: skip
    messages = [
        {"from": f"1650555{i % users:04d}", "from_user_id": f"US.{tag}{i % users:06d}",
         "id": f"wamid.{tag}.{i}", "timestamp": str(1_764_400_000 + i), "type": "text",
         "text": {"body": f"\u00bfViene en otro color? pedido {i} \U0001f44d"}}
        for i in range(n)
    ]  # fmt: skip
    statuses = [
        {"id": f"wamid.{tag}.out{i}", "status": "delivered", "timestamp": str(1_764_400_000 + i),
         "recipient_id": f"1650555{i % users:04d}", "recipient_user_id": f"US.{tag}{i % users:06d}",
         "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility"}}
        for i in range(n)
    ]  # fmt: skip
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": contacts, kind: messages if kind == "messages" else statuses}}]}],
    }  # fmt: skip
    return json.dumps(body, separators=(",", ":")).replace("/", "\\/").encode()


def measure(
    conn: psycopg.Connection, kind: str, n: int, users: int, runs: int, sanitized: bool = False
) -> tuple[float, int, int]:
    """(median seconds of receive, bytes of event payloads stored, raw body bytes); sanitized:
    as if a character of every item's text had been replaced (a pointer per item)."""
    times, stored, raw_size = [], 0, 0
    pointers = [f"/entry/0/changes/0/value/{kind}/{i}/text/body" for i in range(n)]
    for _ in range(runs):
        raw = batch(n, users, kind)
        raw_size = len(raw)
        t = time.perf_counter()
        request_id, new = conn.execute(
            "select request_id, new_event_count from hookline.receive('bench', %s::jsonb, %s, "
            "sanitized => %s)",
            (raw.decode(), raw, pointers if sanitized else None),
        ).fetchone()
        times.append(time.perf_counter() - t)
        assert new == n, f"expected {n} new events, got {new}"
        stored = conn.execute(
            "select sum(pg_column_size(payload))::bigint from hookline.events where request_id = %s",
            (request_id,),
        ).fetchone()[0]
    return statistics.median(times), stored, raw_size


def over_http(dsn: str, runs: int) -> None:
    """Median and slowest answer of `hookline ingress` to a signed 1000-message POST."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_ingress(dsn, Path(tmp) / "ingress.log") as ingress,
    ):
        times: dict[int, list[float]] = {1: [], 1000: []}
        for users in times:
            for _ in range(runs):
                raw = batch(1000, users)
                t = time.perf_counter()
                answer = httpx.post(
                    f"{ingress.url}/webhooks/bench", content=raw, timeout=30,
                    headers={"content-type": "application/json",
                             "x-hub-signature-256": sign(SECRET, raw)},
                )  # fmt: skip
                times[users].append(time.perf_counter() - t)
                assert answer.status_code == 200, answer.text
        one, many = statistics.median(times[1]), statistics.median(times[1000])
        print(
            f"POST of 1000 messages to hookline ingress: 1 user {one * 1000:.0f} ms, "
            f"1000 users {many * 1000:.0f} ms (slowest {max(times[1000]) * 1000:.0f} ms), "
            f"ratio {many / one:.2f}"
        )


def main() -> None:
    dsn = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        measure(conn, "messages", 10, 10, 1)  # warm up
        for kind in ("messages", "statuses"):
            print(f"receive of N {kind} in one change, median of {runs} runs (shared machine)")
            print(
                f"{'N':>5} {'body KB':>8} {'1 user ms':>10} {'N users ms':>11} {'time ratio':>10} "
                f"{'1 user KB':>10} {'N users KB':>11} {'bytes ratio':>11} {'us/item':>8}"
            )
            for n in SIZES:
                one_t, one_b, _ = measure(conn, kind, n, 1, runs)
                many_t, many_b, raw_size = measure(conn, kind, n, n, runs)
                print(
                    f"{n:>5} {raw_size / 1024:>8.1f} {one_t * 1000:>10.1f} {many_t * 1000:>11.1f} "
                    f"{many_t / one_t:>10.2f} {one_b / 1024:>10.1f} {many_b / 1024:>11.1f} "
                    f"{many_b / one_b:>11.2f} {many_t / n * 1e6:>8.0f}"
                )
        print(
            f"receive of N messages from N users, a string sanitised in each, median of {runs} runs"
        )
        print(f"{'N':>5} {'clean ms':>9} {'sanitised ms':>13} {'time ratio':>10}")
        for n in SIZES:
            clean_t, _, _ = measure(conn, "messages", n, n, runs)
            dirty_t, _, _ = measure(conn, "messages", n, n, runs, sanitized=True)
            print(
                f"{n:>5} {clean_t * 1000:>9.1f} {dirty_t * 1000:>13.1f} {dirty_t / clean_t:>10.2f}"
            )
    over_http(dsn, runs)


if __name__ == "__main__":
    main()
