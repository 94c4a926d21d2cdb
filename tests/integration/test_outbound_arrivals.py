"""A number's limit holds on the POSTs that reach the Graph API, not only on the claims.

claim_messages counts a number's claims, but a runner starts a claimed message's POST some
time after the claim: a second's claims started late plus the next second's started at once
reached WhatsApp within one second, up to twice the limit (benchmarks/outbox_ledger.py, issue
11). Now a message claimed at t is started by t + m (the send margin claim_messages returns as
send_within_ms) or given back unsent, never late, and claims are counted over 1 s + m.

The lateness here is real: the runner's claim leases a number's messages, then waits for a
lock (the only lock a claim can wait for: the breaker of a later number, taken to end its
cool-down, docs/outbound.md "Lock order") that an operator's open transaction holds; the
leases come back to the runner only when it commits. The fake Graph API records each POST's
arrival time."""

from __future__ import annotations

import time

import httpx
import psycopg

from tests.fake_graph import FakeGraph
from tests.ingress_helpers import announced_metrics_url
from tests.integration.conftest import scalar, wait_until
from tests.integration.test_outbound import (
    add_sender,
    graph,
    live,
    log_claims,
    max_in_any_second,
    send,
)

__all__ = ["graph"]  # the fixture

LIMIT = 10


def test_the_posts_arriving_in_any_second_stay_within_the_limit_when_a_claim_comes_back_late(db: str, conn, tenant_source, graph: FakeGraph, runners) -> None:  # fmt: skip
    log_claims(conn)
    add_sender(conn, "1065", messages_per_second=LIMIT, pair_interval="1 s")
    add_sender(conn, "2065", messages_per_second=LIMIT, pair_interval="1 s")
    for n in range(3 * LIMIT):  # queued first: the claim takes 1065's messages first
        send(conn, f"+1065{n:07d}", f"a{n}", pnid="1065")
    for n in range(3):
        send(conn, f"+2065{n:07d}", f"b{n}", pnid="2065")
    # 2065's breaker is open with its cool-down over: the claim makes it half-open under its
    # lock, after it leased 1065's messages.
    conn.execute(
        "insert into hookline.circuit_breakers (target, state, open_until, cooldown, "
        "window_started_at, changed_at, reason) values ('sender:2065', 'open', "
        "now() - interval '1 second', interval '2 seconds', now(), now(), 'test')"
    )
    total = 3 * LIMIT + 3
    with psycopg.connect(db, autocommit=True) as holder:
        with holder.transaction():
            holder.execute(
                "select from hookline.circuit_breakers where target = 'sender:2065' for update"
            )
            runner = runners("r1", "--graph-url", graph.url, "--concurrency", "32")
            wait_until(
                lambda: scalar(
                    conn,
                    "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                    "and query like '%claim_messages%'",
                ) > 0,
                timeout=30,
                what="the runner's claim to wait for the breaker's lock",
            )  # fmt: skip
            time.sleep(0.7)  # the claim holds 1065's leases meanwhile: they come back late
        wait_until(lambda: live(conn) == 0, timeout=60, what=f"{total} messages sent")

    # Nothing lost: every message sent, each once (all answered 200).
    assert scalar(conn, "select count(*) from hookline.outbox where state = 'sent'") == total
    assert sorted(r.body["biz_opaque_callback_data"] for r in graph.requests) == sorted(
        f"hookline:{i}" for (i,) in conn.execute("select message_id from hookline.outbox")
    )
    for pnid in ("1065", "2065"):
        arrivals = sorted(r.at for r in graph.requests if r.path.split("/")[2] == pnid)
        assert max_in_any_second(arrivals) <= LIMIT, (pnid, max_in_any_second(arrivals), arrivals)
    # The late leases were given back unsent and claimed again (a claim each, counted), and the
    # runner's metrics say how many it gave back.
    claims = scalar(conn, "select count(*) from public.claims_seen")
    assert claims > total
    metrics = httpx.get(announced_metrics_url(runner.log), timeout=10).text
    given_back = 'hookline_leases_given_back_total{kind="messages",which="unsent"} '
    line = next(ln for ln in metrics.splitlines() if ln.startswith(given_back))
    assert float(line.removeprefix(given_back)) == claims - total, line
