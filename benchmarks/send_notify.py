"""What the outbound runners' wake-up signal costs handlers: pgbench with 8 concurrent writers,
each transaction one `hookline.send_message` of a new message (a handler queuing a reply), on a
scratch database.

    python benchmarks/send_notify.py "postgresql://.../scratch" [seconds per run]

Three settings, each run twice, alternating, in one run (pgbench -c 8 -j 2 -T seconds), each
with an outbound runner without HTTP draining the outbox (claim_messages + complete_messages,
the runner's statements):

- no signal: the runner polls every 10 ms and never says it waits, so `hookline._wake` only
  reads its flag (the same as no NOTIFY line at all); the baseline;
- signal: the runner drains, registers as waiting (`hookline.next_message_due()`) and sleeps
  until notified, as `hookline runner` does;
- notify per transaction: what send_message did before (`pg_notify` in every transaction that
  queued a message), emulated by a second statement in the pgbench transaction; the runner polls.

It prints tps of each, the ratios to the baseline (goal: signal >= 0.9), the notifications the
runner got, and the latency of an idle runner: 200 single send_message calls 50 ms apart, from
just before the call to the notification that wakes the runner and to the claim that leases
the message (p50/p99; goal: woken within 10 ms p99).
Needs `pgbench` on PATH. Use a database you can throw away.
"""

from __future__ import annotations

import statistics
import sys
import time

import psycopg
from bench_common import prepare
from ingest_notify import Runner, signal_rounds

from hookline import queries

# Ten digits after +1: every recipient is a valid number (a short one is refused, and pgbench
# aborts the run on the first error).
SEND = (
    "\\set id random(1000000000, 1999999999)\n"
    "select hookline.send_message('bench', '+1' || :id, "
    '\'{"type": "text", "text": {"body": "hi"}}\', \'k-\' || :client_id || \'-\' || :id);\n'
)
NOTIFY_EACH = (
    "\\set id random(1000000000, 1999999999)\n"
    "begin;\n"
    "select hookline.send_message('bench', '+1' || :id, "
    '\'{"type": "text", "text": {"body": "hi"}}\', \'k-\' || :client_id || \'-\' || :id);\n'
    "select pg_notify('hookline_outbox', '{\"due\":\"now\"}');\n"
    "commit;\n"
)


class OutboundRunner(Runner):
    """The same loop over the outbox (a 200 with a wamid for every message)."""

    LISTEN = queries.LISTEN_OUTBOX
    CLAIM = queries.CLAIM_MESSAGES
    COMPLETE = queries.COMPLETE_MESSAGES
    NEXT_DUE = queries.SECONDS_TO_NEXT_MESSAGE

    @staticmethod
    def result(row: tuple) -> dict:
        return {"message_id": row[0], "lease_token": str(row[1]), "status_code": 200,
                "wamid": f"wamid.bench-{row[0]}"}  # fmt: skip


def latency(dsn: str, conn: psycopg.Connection) -> tuple[list[float], list[float]]:
    """send_message call -> the idle runner's wake-up (its notification), and -> its claim,
    for 200 single calls 50 ms apart (the runner is waiting again before each) (ms)."""
    runner = OutboundRunner(dsn, wake=True)
    time.sleep(0.2)  # it found the outbox empty and waits
    sent: list[float] = []
    for i in range(200):
        time.sleep(0.05)
        sent.append(time.perf_counter())
        conn.execute(
            "select hookline.send_message('bench', %s, %s, %s)",
            (f"+1999{i:07}", '{"type": "text", "text": {"body": "hi"}}', f"lat-{time.time_ns()}"),
        )
    time.sleep(0.2)
    runner.close()
    woken = [min((w for w in runner.woken if w >= s), default=None) for s in sent]
    return (
        [(w - s) * 1000 for s, w in zip(sent, woken, strict=True) if w is not None],
        [(c - s) * 1000 for s, c in zip(sent, runner.claimed, strict=False)],
    )


def main() -> None:
    dsn = sys.argv[1]
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        if not conn.execute(
            "select 1 from hookline.senders where phone_number_id = '9999'"
        ).fetchone():
            conn.execute(
                "select hookline.add_sender('bench', '9999', 'bench-token', messages_per_second => 10000)"
            )
        conn.execute("delete from hookline.outbox")
        signal_rounds(
            dsn, conn, OutboundRunner, SEND, NOTIFY_EACH, seconds, "hookline.send_message"
        )
        conn.execute("delete from hookline.outbox")
        woken, claimed = latency(dsn, conn)
        conn.execute("delete from hookline.outbox")
    for what, times in (("woken (notified)", woken), ("claimed", claimed)):
        times = sorted(times)
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"idle runner, send_message call -> {what}: p50 {statistics.median(times):.2f} ms, "
              f"p99 {p99:.2f} ms ({len(times)} of 200)")  # fmt: skip


if __name__ == "__main__":
    main()
