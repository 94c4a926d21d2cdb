"""A number's limit holds on the POSTs that reach the Graph API, not only on the claims.

claim_messages counts a number's claims, but a runner starts a claimed message's POST some
time after the claim: a second's claims started late plus the next second's started at once
reached WhatsApp within one second, up to twice the limit (benchmarks/outbox_ledger.py, issue
11). Now a message claimed at t is started by t + m (the send margin) or given back unsent,
never late, and claims are counted over 1 s + m.

A message's claim time t is the database's clock after the claim's locks (not the claim
statement's start), and a claim never waits for a row lock: a claim that waited for a lock
sends what it claims, and only a runner that is itself late gives messages back. The lateness
and the lock waits here are real (an operator's lock, SIGSTOP); the fake Graph API records
each POST's arrival time."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator

import psycopg

from tests.fake_graph import FakeGraph
from tests.ingress_helpers import announced_metrics_url, metric
from tests.integration.conftest import RunnerProcess, scalar, wait_until
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


def queue(conn: psycopg.Connection, numbers: dict[str, int]) -> int:
    log_claims(conn)
    for pnid, count in numbers.items():
        add_sender(conn, pnid, messages_per_second=LIMIT, pair_interval="1 s")
        for n in range(count):
            send(conn, f"+{pnid}{n:07d}", f"{pnid}-{n}", pnid=pnid)
    return sum(numbers.values())


@contextlib.contextmanager
def claim_behind_a_lock(db: str, conn: psycopg.Connection, graph: FakeGraph, runners) -> Iterator[RunnerProcess]:  # fmt: skip
    """A runner started while a session holds the senders in EXCLUSIVE mode, as a deploy's
    migration does; yields it once its claim waits for that lock, released on leaving."""
    with psycopg.connect(db, autocommit=True) as holder, holder.transaction():
        holder.execute("lock table hookline.senders in exclusive mode")
        runner = runners("r1", "--graph-url", graph.url, "--concurrency", "32")
        wait_until(
            lambda: scalar(
                conn,
                "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                "and query like '%claim_messages%'",
            ) > 0,
            timeout=30,
            what="the runner's claim to wait for the lock",
        )  # fmt: skip
        yield runner


def given_back(runner: RunnerProcess) -> float:
    """The runner's counter of messages given back unsent (0 while it has none)."""
    return metric(announced_metrics_url(runner.log), "hookline_leases_given_back_total",
                  kind="messages", which="unsent")  # fmt: skip


def check_sends(conn: psycopg.Connection, graph: FakeGraph, total: int) -> int:
    """Every message sent, each once (all answered 200), never over a number's limit in any
    sliding second of arrivals; returns the claims made (a message given back is claimed again)."""
    assert scalar(conn, "select count(*) from hookline.outbox where state = 'sent'") == total
    assert sorted(r.body["biz_opaque_callback_data"] for r in graph.requests) == sorted(
        f"hookline:{i}" for (i,) in conn.execute("select message_id from hookline.outbox")
    )
    for pnid in {r.path.split("/")[2] for r in graph.requests}:
        arrivals = sorted(r.at for r in graph.requests if r.path.split("/")[2] == pnid)
        assert max_in_any_second(arrivals) <= LIMIT, (pnid, max_in_any_second(arrivals), arrivals)
    return int(scalar(conn, "select count(*) from public.claims_seen"))


def test_a_claim_that_waited_for_a_lock_sends_what_it_claims(db: str, conn, tenant_source, graph: FakeGraph, runners) -> None:  # fmt: skip
    # A deploy's migration, say, locks the senders for 0.7 s while a runner's claim is sent.
    # The claim's time was its statement's start, so its rows came back 0.7 s after their
    # claim and the runner gave every one back unsent (10 of 10, then claimed again 1.25 s
    # later). Now their claim time is read after the wait: all sent, none given back.
    total = queue(conn, {"1065": 3 * LIMIT})
    with claim_behind_a_lock(db, conn, graph, runners) as runner:
        time.sleep(0.7)
    wait_until(lambda: live(conn) == 0, timeout=60, what=f"{total} messages sent")
    assert check_sends(conn, graph, total) == total, "each message claimed once"
    assert given_back(runner) == 0, runner.output()


def test_an_operators_lock_on_a_numbers_breaker_holds_up_no_other_number(db: str, conn, tenant_source, graph: FakeGraph, runners) -> None:  # fmt: skip
    # 2065's breaker is open with its cool-down over, and an operator's open transaction holds
    # its row. A claim took 1065's messages, then waited for that lock (to make the breaker
    # half-open) with 1065's leases in hand: nothing was sent until the operator committed,
    # and then 1065's messages went back unsent. Now the claim skips the locked breaker (no
    # room for 2065 this time) and 1065's messages go while the operator still holds it.
    total = queue(conn, {"1065": 3 * LIMIT, "2065": 3})
    conn.execute(
        "insert into hookline.circuit_breakers (target, state, open_until, cooldown, "
        "window_started_at, changed_at, reason) values ('sender:2065', 'open', "
        "now() - interval '1 second', interval '2 seconds', now(), now(), 'test')"
    )
    with psycopg.connect(db, autocommit=True) as holder:
        with holder.transaction():
            holder.execute(
                "select from hookline.circuit_breakers where target = 'sender:2065' for update"
            )
            runner = runners("r1", "--graph-url", graph.url, "--concurrency", "32")
            wait_until(
                lambda: scalar(
                    conn,
                    "select count(*) from hookline.outbox "
                    "where phone_number_id = '1065' and state = 'sent'",
                ) == 3 * LIMIT,
                timeout=30,
                what="1065's messages sent while 2065's breaker is held",
            )  # fmt: skip
            assert not [r for r in graph.requests if "/2065/" in r.path]
            assert scalar(conn, "select state from hookline.circuit_breakers "
                          "where target = 'sender:2065'") == "open"  # fmt: skip
        wait_until(lambda: live(conn) == 0, timeout=60, what=f"{total} messages sent")
    assert check_sends(conn, graph, total) == total, "each message claimed once"
    assert given_back(runner) == 0, runner.output()


def test_messages_a_runner_could_not_start_in_time_go_back_unsent(db: str, conn, tenant_source, graph: FakeGraph, runners) -> None:  # fmt: skip
    # The runner itself is late: stopped (SIGSTOP) while its claim waits for a lock, it gets
    # the claimed rows 0.7 s after their claim. It gives them back unsent rather than start
    # them late (a second's claims started late plus the next second's at once reached
    # WhatsApp at twice the limit); they are claimed again and sent within the limit.
    total = queue(conn, {"1065": 3 * LIMIT})
    with claim_behind_a_lock(db, conn, graph, runners) as runner:
        runner.signal(signal.SIGSTOP)
    try:
        wait_until(
            lambda: scalar(conn, "select count(*) from public.claims_seen") > 0,
            timeout=30, what="the stopped runner's claim to be made",
        )  # fmt: skip
        time.sleep(0.7)
    finally:
        runner.signal(signal.SIGCONT)
    wait_until(lambda: live(conn) == 0, timeout=60, what=f"{total} messages sent")
    claims = check_sends(conn, graph, total)
    assert claims > total, "the late claim's messages were claimed again"
    assert given_back(runner) == claims - total, runner.output()
