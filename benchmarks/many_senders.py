"""The outbox's claim beside idle numbers, and spread over numbers, on a scratch database.

    python benchmarks/many_senders.py "postgresql://.../scratch" [idle counts, default 0,1000,10000]

A platform registers many WhatsApp numbers, most of them quiet at any moment. One busy number
(9000000001, source 'bench') gets 32 due messages to new recipients before each claim of 32
(`hookline.claim_messages`, on one session; the claimed messages are then marked sent), beside
each count of active numbers of the same source with no message (added through
`hookline.add_sender`, kept between counts: give the counts in rising order, 0 first). Then the
same claims spread over 32 numbers with one due message each. It prints the median claim time
of 30 claims (after 5 warm-up claims) per case, and each over the median beside 0 idle numbers
(the baseline of the same run). Each case starts after a vacuum of the outbox, so that the
dead index entries the messages sent before it left do not weigh on it. Use a database you can
throw away.
"""

from __future__ import annotations

import statistics
import sys
import time

import psycopg
from bench_common import prepare

CLAIMS, WARM = 30, 5

QUEUE = """
insert into hookline.outbox (source_id, next_attempt_at, created_at, state, phone_number_id,
  tenant_id, idempotency_key, recipient, message)
select n.source_id, now() - interval '1 second', now(), 'queued', n.phone_number_id, n.tenant_id,
  %(round)s || '-' || n.phone_number_id || '-' || i,
  '+1' || lpad((%(round)s::bigint * 100000 + r.k * 100 + i)::text, 14, '0'),
  '{"type": "text", "text": {"body": "hi"}}'
from hookline.senders n
join (select p, row_number() over (order by p) as k from unnest(%(numbers)s::text[]) p) r
  on r.p = n.phone_number_id,
  generate_series(1, %(each)s::int) i
"""

FINISH = (
    "update hookline.outbox set state = 'sent', next_attempt_at = null, lease_token = null, "
    "runner = null, sent_at = now(), wamid = 'wamid.bench.' || message_id where state = 'sending'"
)


def claims(conn: psycopg.Connection, numbers: list[str], each: int, first_round: int) -> float:
    """Median ms of CLAIMS claims of 32, each of `each` new messages per number of `numbers`,
    after a vacuum: each case starts without the dead index entries the cases before left."""
    conn.execute("vacuum analyze hookline.outbox")
    times = []
    for r in range(first_round, first_round + WARM + CLAIMS):
        conn.execute(QUEUE, {"round": r, "numbers": numbers, "each": each})
        start = time.perf_counter()
        rows = conn.execute(
            "select message_id from hookline.claim_messages('bench', 32, '1 minute')"
        ).fetchall()
        times.append((time.perf_counter() - start) * 1000)
        if len(rows) != 32:
            raise SystemExit(f"a claim took {len(rows)} of 32 due messages")
        conn.execute(FINISH)
    return statistics.median(times[WARM:])


def main() -> None:
    dsn = sys.argv[1]
    counts = [int(c) for c in (sys.argv[2] if len(sys.argv) > 2 else "0,1000,10000").split(",")]
    with psycopg.connect(dsn, autocommit=True) as conn:
        prepare(dsn, conn)
        conn.execute("truncate hookline.outbox")
        conn.execute(
            "select hookline.add_sender('bench', '9000000001', 'EAAG-bench-busy', "
            "messages_per_second => 10000) "
            "where not exists (select from hookline.senders where phone_number_id = '9000000001')"
        )
        rounds, base = 0, None
        print(f"{'idle numbers':>12}  {'claim of 32 ms':>14}  {'/ beside 0':>10}")
        for count in counts:
            have = conn.execute(
                "select count(*) from hookline.senders where phone_number_id like '91%%'"
            ).fetchone()[0]
            conn.execute(
                "select count(hookline.add_sender('bench', (9100000000 + i)::text, 'EAAG-bench-' || i)) "
                "from generate_series(%s::int + 1, %s::int) i",
                (have, count),
            )
            conn.execute("analyze hookline.senders")
            ms = claims(conn, ["9000000001"], 32, rounds)
            rounds += WARM + CLAIMS
            base = base or ms
            print(f"{count:>12}  {ms:>14.2f}  {ms / base:>10.2f}", flush=True)
        spread = [str(9200000000 + i) for i in range(32)]
        conn.execute(
            "select count(hookline.add_sender('bench', p, 'EAAG-' || p, messages_per_second => 10000)) "
            "from unnest(%s::text[]) p "
            "where not exists (select from hookline.senders s where s.phone_number_id = p)",
            (spread,),
        )
        ms = claims(conn, spread, 1, rounds)
        print(f"spread: a claim of 32 over 32 numbers, one message each: {ms:.2f} ms, "
              f"{ms / base:.2f} times one number's 32")  # fmt: skip


if __name__ == "__main__":
    main()
