"""The runner as a real process against real HTTP targets: signatures, the retry ladder,
crashes, shutdown, two runners side by side, poison and paused endpoints."""

from __future__ import annotations

import json
import re
import signal
import threading
import time

import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from tests.integration.conftest import scalar, wait_until
from tests.target import Target


def add_endpoint(conn: psycopg.Connection, name: str, url: str, *, timeout_ms: int = 2000,
                 max_in_flight: int = 10, schedule: str = "{0.2 s, 0.2 s}") -> str:  # fmt: skip
    """An endpoint subscribed to event type test.<name>; returns its secret."""
    secret = scalar(
        conn,
        "select secret from hookline.add_endpoint(tenant => 'acme', name => %s, url => %s, "
        "timeout_ms => %s, max_in_flight => %s, retry_schedule => %s::interval[])",
        (name, url, timeout_ms, max_in_flight, schedule),
    )
    conn.execute("select hookline.add_subscription(endpoint => %s, event_type_pattern => %s)",
                 (name, f"test.{name}"))  # fmt: skip
    return str(secret)


def ingest(conn: psycopg.Connection, name: str, count: int, first: int = 1) -> None:
    """count new events of type test.<name> (external ids <name>-<first>...), in one transaction."""
    conn.execute(
        "select hookline.ingest('acme-wa', %s || '-' || i, 'test.' || %s, jsonb_build_object('i', i)) "
        "from generate_series(%s::int, %s::int) i",
        (name, name, first, first + count - 1),
    )


def queued(conn: psycopg.Connection, name: str | None = None) -> int:
    return int(scalar(
        conn,
        "select count(*) from hookline.deliveries d join hookline.endpoints e using (endpoint_id) "
        "where %(n)s::text is null or e.name = %(n)s::text", {"n": name},
    ))  # fmt: skip


def successes_per_delivery(conn: psycopg.Connection) -> dict[int, int]:
    return dict(conn.execute(
        "select delivery_id, count(*) filter (where outcome = 'succeeded') from hookline.attempts group by 1"
    ).fetchall())  # fmt: skip


def test_deliveries_are_signed_so_standardwebhooks_verifies_them(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    secret = add_endpoint(conn, "crm", target.url("/ok"))
    ingest(conn, "crm", 3)
    runners("r1")
    wait_until(lambda: queued(conn) == 0, what="the queue to empty")
    assert len(target.requests) == 3
    for req in target.requests:
        payload = Webhook(secret).verify(req.body, req.headers)
        assert payload["type"] == "test.crm" and "i" in payload["data"]
        assert req.headers["webhook-id"].startswith("dlv_")
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook("whsec_" + "A" * 40).verify(req.body, req.headers)
    assert scalar(conn, "select array_agg(distinct outcome) from hookline.attempts") == [
        "succeeded"
    ]


def test_each_kind_of_answer_takes_its_path_through_the_ladder(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "flaky", target.url("/fail/2"))
    add_endpoint(conn, "broken", target.url("/500"))
    add_endpoint(conn, "busy", target.url("/429"), schedule="{1 hour}")
    add_endpoint(conn, "hangs", target.url("/hang"), timeout_ms=300, schedule="{0.2 s}")
    add_endpoint(conn, "resets", target.url("/reset"), schedule="{0.2 s}")
    add_endpoint(conn, "gone", target.url("/410"))
    add_endpoint(conn, "slow", target.url("/slow/300"))
    add_endpoint(conn, "weird", target.url("/status/999"), schedule="{0.2 s}")
    for name in ("flaky", "broken", "busy", "hangs", "resets", "gone", "slow", "weird"):
        ingest(conn, name, 1)
    runners("r1")
    wait_until(lambda: queued(conn) == 0, timeout=30, what="every delivery to finish")

    rows = conn.execute(
        "select e.name, a.attempt_number, a.outcome, a.status_code, a.error_class "
        "from hookline.attempts a join hookline.endpoints e using (endpoint_id) order by e.name, a.attempt_number"
    ).fetchall()
    history: dict[str, list[tuple]] = {}
    for name, number, outcome, status, error in rows:
        history.setdefault(name, []).append((number, outcome, status or error))
    assert history["flaky"] == [(1, "retrying", 500), (2, "retrying", 500), (3, "succeeded", 200)]
    assert history["broken"] == [(1, "retrying", 500), (2, "retrying", 500), (3, "dead", 500)]
    # Retry-After: 1 beats the endpoint's one-hour schedule.
    assert history["busy"] == [(1, "retrying", 429), (2, "succeeded", 200)]
    assert history["hangs"] == [(1, "retrying", "timeout"), (2, "dead", "timeout")]
    assert history["resets"] == [(1, "retrying", "network"), (2, "dead", "network")]
    assert history["gone"] == [(1, "dead", 410)]
    assert history["slow"] == [(1, "succeeded", 200)]
    assert history["weird"] == [(1, "retrying", 999), (2, "dead", 999)], (
        "a nonstandard status is a server error"
    )
    excerpts = conn.execute(
        "select distinct a.response_excerpt from hookline.attempts a join hookline.endpoints e "
        "using (endpoint_id) where e.name = 'resets'"
    ).fetchall()
    assert len(excerpts) == 1 and excerpts[0][0].split(":")[0].endswith("Error"), excerpts
    busy = [r.at for r in target.requests if r.path == "/429"]
    assert busy[1] - busy[0] >= 0.9, "the retry waited for Retry-After"
    assert scalar(conn, "select state from hookline.endpoints where name = 'gone'") == "paused"
    dead = dict(conn.execute(
        "select e.name, l.reason from hookline.dead_letters l join hookline.endpoints e using (endpoint_id)"
    ).fetchall())  # fmt: skip
    assert dead == {
        "broken": "retries exhausted after 3 attempts; last: 500",
        "hangs": "retries exhausted after 2 attempts; last: timeout",
        "resets": "retries exhausted after 2 attempts; last: network",
        "gone": "gone: the endpoint answered 410 and was paused",
        "weird": "retries exhausted after 2 attempts; last: 999",
    }


@pytest.mark.slow
def test_a_killed_runner_s_deliveries_are_delivered_by_another_after_the_lease(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/slow/200"), timeout_ms=1000, max_in_flight=8)
    ingest(conn, "crm", 60)
    first = runners("r1", "--lease", "2", "--concurrency", "8")
    wait_until(lambda: len(target.requests) >= 10, what="the first runner to get going")
    first.signal(signal.SIGKILL)
    first.wait(10)
    in_flight = {
        f"dlv_{i}" for (i,) in conn.execute(
            "select delivery_id from hookline.deliveries where state = 'in_flight' and runner = 'r1'"
        )
    }  # fmt: skip
    assert in_flight, "the runner was killed in the middle of a batch"
    runners("r2")
    wait_until(lambda: queued(conn) == 0, what="the second runner to finish")
    assert sorted(successes_per_delivery(conn).values()) == [1] * 60, (
        "each delivery succeeded exactly once"
    )
    seen = target.ids()
    assert len(seen) == 60
    duplicates = {i for i, n in seen.items() if n > 1}
    assert duplicates <= in_flight, "only deliveries in flight at the kill were sent twice"


def test_two_runners_deliver_2000_deliveries_once_each(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/ok"), max_in_flight=64)
    ingest(conn, "crm", 2000)
    runners("r1", "--concurrency", "32")
    runners("r2", "--concurrency", "32")
    wait_until(lambda: queued(conn) == 0, timeout=120, what="2,000 deliveries")
    stale = scalar(conn, "select count(*) from hookline.attempts where outcome = 'stale'")
    per_delivery = successes_per_delivery(conn)
    assert len(per_delivery) == 2000
    assert set(per_delivery.values()) == {1}, "no delivery succeeded twice"
    assert stale == 0, "no lease was lost, so no result was stale"
    assert len(target.ids()) == 2000
    assert scalar(conn, "select count(distinct runner) from hookline.attempts") == 2


def test_a_poison_endpoint_goes_dead_and_a_paused_one_waits(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(
        conn, "poison", target.url("/500"), max_in_flight=5, schedule="{0.1 s, 0.1 s, 0.1 s}"
    )
    add_endpoint(conn, "healthy", target.url("/ok"), max_in_flight=20)
    add_endpoint(conn, "paused", target.url("/ok"))
    conn.execute("select hookline.pause_endpoint(name => 'paused')")
    # Its circuit breaker would hold the poison back (tested in test_outbound.py); forced
    # closed, every delivery runs its whole schedule.
    conn.execute(
        "select hookline.set_breaker(target => 'endpoint:' || endpoint_id, mode => 'closed') "
        "from hookline.endpoints where name = 'poison'"
    )
    ingest(conn, "poison", 50)
    ingest(conn, "healthy", 300)
    ingest(conn, "paused", 5)
    runners("r1")
    wait_until(lambda: queued(conn, "healthy") == 0, what="the healthy backlog")
    wait_until(lambda: queued(conn, "poison") == 0, what="the poison endpoint to go dead")
    assert scalar(conn, "select count(*) from hookline.dead_letters where attempt_count = 4") == 50
    assert len(target.ids("/500")) == 50
    assert queued(conn, "paused") == 5, "a paused endpoint's deliveries wait"
    conn.execute("select hookline.resume_endpoint(name => 'paused')")
    wait_until(
        lambda: queued(conn, "paused") == 0, timeout=10, what="the resumed endpoint's deliveries"
    )


def test_endpoints_at_their_limit_do_not_starve_a_newer_one(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    # Three slow endpoints, one request at a time each, with the oldest work; then a fast one.
    # With 4 slots the runner claims 1 or 2 rows at a time: more endpoints have due work than a
    # claim takes, and the three slow ones, full, are always the oldest due.
    for i in (1, 2, 3):
        add_endpoint(conn, f"slow{i}", target.url(f"/slow/4000/{i}"), timeout_ms=10000, max_in_flight=1)  # fmt: skip
        ingest(conn, f"slow{i}", 2)
    add_endpoint(conn, "fast", target.url("/ok"), max_in_flight=10)
    ingest(conn, "fast", 20)
    runners("r1", "--concurrency", "4", "--batch", "2")
    wait_until(lambda: queued(conn, "fast") == 0, what="the fast endpoint's 20 deliveries")
    slow_answered = scalar(
        conn,
        "select count(*) from hookline.attempts a join hookline.endpoints e using (endpoint_id) "
        "where e.name like 'slow%'",
    )
    assert slow_answered == 0, "the fast endpoint was served while the slow ones still worked (4 s)"
    assert len(target.ids("/ok")) == 20
    assert target.most_at_once_by_path["/slow/4000/1"] == 1, "max_in_flight still holds"


@pytest.mark.slow
def test_sigterm_under_load_exits_in_the_grace_period_and_loses_nothing(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/slow/400"), max_in_flight=10)
    ingest(conn, "crm", 100)
    first = runners("r1", "--concurrency", "10", "--grace", "3")
    wait_until(lambda: len(target.requests) >= 15, what="load")
    started = time.monotonic()
    first.signal(signal.SIGTERM)
    assert first.wait(10) == 0, first.output()
    assert time.monotonic() - started < 4, "exits within the grace period"
    assert scalar(conn, "select count(*) from hookline.deliveries where runner = 'r1'") == 0, (
        "no lease left behind"
    )
    assert "stopped" in first.output()
    runners("r2")
    wait_until(lambda: queued(conn) == 0, what="the rest")
    assert sorted(successes_per_delivery(conn).values()) == [1] * 100


def leased(conn: psycopg.Connection, runner: str) -> int:
    return int(scalar(conn, "select count(*) from hookline.deliveries where runner = %s and state = 'in_flight'", (runner,)))  # fmt: skip


def test_a_runner_claims_one_batch_ahead_but_sends_at_most_concurrency(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/slow/300"), max_in_flight=100)
    ingest(conn, "crm", 30)
    runners("r1", "--concurrency", "3", "--batch", "4")
    most_leased = 0
    while queued(conn):
        most_leased = max(most_leased, leased(conn, "r1"))
        time.sleep(0.02)
    # 3 requests in flight and two batches of 4 waiting for a slot (and, for a moment, answers
    # not yet recorded)
    assert most_leased >= 11, "two batches claimed ahead"
    assert target.most_at_once == 3, "never more requests than --concurrency"
    assert sorted(successes_per_delivery(conn).values()) == [1] * 30


def largest_claim(conn: psycopg.Connection, runner: str) -> int:
    """The most rows the runner holds from one claim: a claim numbers its leases with one
    lease_order (docs/delivery.md, "The lease cursor")."""
    return int(scalar(
        conn,
        "select coalesce(max(n), 0) from (select count(*) n from hookline.deliveries "
        "where runner = %s and state = 'in_flight' group by lease_order) c", (runner,),
    ))  # fmt: skip


def test_during_a_backlog_a_claim_takes_up_to_concurrency_rows_not_only_a_batch(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/slow/300"), max_in_flight=100)
    ingest(conn, "crm", 60)
    runners("r1", "--concurrency", "12", "--batch", "4")
    most = 0
    while queued(conn):
        most = max(most, largest_claim(conn, "r1"))
        time.sleep(0.01)
    # The first claim takes a batch (4); it comes back full, so the next fills the free slots
    # (8) in one round trip, and later ones up to 12, never more than --concurrency.
    assert 8 <= most <= 12, most
    assert target.most_at_once == 12, "never more requests than --concurrency"
    assert sorted(successes_per_delivery(conn).values()) == [1] * 60


def test_sigterm_gives_back_at_once_what_waits_for_a_slot(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/slow/1500"), max_in_flight=100)
    ingest(conn, "crm", 20)
    runner = runners("r1", "--concurrency", "2", "--batch", "4", "--grace", "10")
    # Right after an answer, a runner with a backlog claims ahead: more leases than slots.
    wait_until(lambda: leased(conn, "r1") >= 5, what="deliveries waiting for a slot")
    runner.signal(signal.SIGTERM)
    wait_until(lambda: leased(conn, "r1") <= 2, what="those waiting for a slot released")
    assert target.at_once == 2, "released while the two requests in flight still run"
    assert runner.wait(10) == 0, runner.output()
    assert re.search(r"released \d+ unsent deliveries", runner.output()), runner.output()
    sent = len(target.requests)
    assert scalar(conn, "select count(*) from hookline.attempts") == sent
    assert scalar(conn, "select count(*) from hookline.deliveries where state = 'pending' and attempt_count = 0") == 20 - sent  # fmt: skip


def test_a_delivery_whose_lease_ran_out_waiting_for_a_slot_is_given_back_unsent(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    # lease max(1 s, timeout 2 s + 1 s) = 3 s; the second row of a claim gets its slot after
    # 1.2 s, when 1.8 s of lease remain: less than the timeout and the margin.
    add_endpoint(conn, "crm", target.url("/slow/1200"), timeout_ms=2000, max_in_flight=100)
    ingest(conn, "crm", 3)
    runner = runners("r1", "--concurrency", "1", "--batch", "2", "--lease", "1")
    wait_until(lambda: queued(conn) == 0, what="3 deliveries")
    assert "unsent deliveries" in runner.output()
    assert sorted(target.ids().values()) == [1] * 3, "no request without the lease to cover it"
    assert scalar(conn, "select count(*) from hookline.attempts") == 3


def test_the_runner_reconnects_after_losing_the_database(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/ok"))
    ingest(conn, "crm", 5)
    runner = runners("r1")
    wait_until(lambda: queued(conn) == 0, what="the first events")
    conn.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity "
        "where datname = current_database() and pid <> pg_backend_pid()"
    )
    ingest(conn, "crm", 5, first=6)
    wait_until(lambda: queued(conn) == 0, what="events after the connections were killed")
    assert len(target.ids()) == 10
    assert runner.proc.poll() is None


def test_results_of_requests_in_flight_are_recorded_after_a_reconnect(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/slow/800"))
    ingest(conn, "crm", 5)
    runners("r1")
    wait_until(lambda: len(target.requests) == 5, what="five requests in flight")
    conn.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity "
        "where datname = current_database() and pid <> pg_backend_pid()"
    )
    wait_until(lambda: queued(conn) == 0, what="the results to be recorded")
    assert sorted(successes_per_delivery(conn).values()) == [1] * 5
    assert len(target.requests) == 5, "recorded, not retried after a lease expiry"


def test_max_in_flight_holds_across_runners(conn, tenant_source, target: Target, runners) -> None:  # fmt: skip
    add_endpoint(conn, "crm", target.url("/slow/150"), max_in_flight=3)
    ingest(conn, "crm", 30)
    runners("r1")
    runners("r2")
    wait_until(lambda: queued(conn) == 0, what="30 deliveries")
    assert target.most_at_once == 3


def test_ingest_notifies_a_waiting_runner_once(db: str, conn, tenant_source) -> None:
    add_endpoint(conn, "crm", "http://127.0.0.1:9/crm")
    with psycopg.connect(db, autocommit=True) as listener:
        listener.execute("listen hookline_deliveries")
        ingest(conn, "crm", 10)  # no runner waits: no notification
        assert list(listener.notifies(timeout=0.3)) == []
        listener.execute("select hookline.next_due()")  # a runner found no work and waits
        ingest(conn, "crm", 50, first=11)
        ingest(conn, "crm", 50, first=61)  # the runner was woken already: no second notification
        ingest(conn, "crm", 50, first=61)  # duplicates: no delivery, no notification
        notes = list(listener.notifies(timeout=0.5))
        assert [json.loads(n.payload) for n in notes] == [{"due": "now"}]
        listener.execute("select hookline.next_due()")  # it waits again
        ingest(conn, "crm", 1, first=200)
        assert len(list(listener.notifies(timeout=0.5))) == 1


def test_two_sessions_claiming_at_once_never_share_a_delivery(db: str, conn, tenant_source) -> None:
    add_endpoint(conn, "crm", "http://127.0.0.1:9/crm", max_in_flight=1000)
    ingest(conn, "crm", 200)
    barrier = threading.Barrier(4)
    claimed: list[int] = []

    def claim(name: str) -> None:
        with psycopg.connect(db, autocommit=True) as c:
            barrier.wait()
            for _ in range(500):  # a claim that finds the endpoint locked by another gets nothing
                rows = c.execute(
                    "select delivery_id from hookline.claim(%s, 7, '1 minute')", (name,)
                ).fetchall()
                claimed.extend(r[0] for r in rows)
                if len(claimed) >= 200:
                    return

    threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(claimed) == len(set(claimed)) == 200
