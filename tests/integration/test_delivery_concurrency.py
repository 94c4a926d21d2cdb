"""claim and complete from several sessions at once: no deadlock, no endpoint that serialises
runners, max_in_flight across sessions; and a flapping endpoint that its breaker does not starve."""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.integration.conftest import scalar, wait_until


def add_endpoint(conn: psycopg.Connection, name: str, *, max_in_flight: int = 1000,
                 schedule: str = "{0.001 s, 0.001 s, 0.001 s, 0.001 s}") -> int:  # fmt: skip
    endpoint_id = scalar(
        conn,
        "select endpoint_id from hookline.add_endpoint(tenant => 'acme', name => %s, "
        "url => 'http://127.0.0.1:9/' || %s, max_in_flight => %s, retry_schedule => %s::interval[])",
        (name, name, max_in_flight, schedule),
    )
    conn.execute("select hookline.add_subscription(endpoint => %s, event_type_pattern => %s)",
                 (name, f"test.{name}"))  # fmt: skip
    return int(endpoint_id)


def ingest_alternating(conn: psycopg.Connection, names: list[str], rounds: int) -> None:
    """Events for each endpoint in turn, forwards then backwards: a, b, b, a, a, b, ..."""
    conn.execute(
        "select hookline.ingest('acme-wa', 'e-' || i || '-' || n, 'test.' || n, '{}') "
        "from generate_series(1, %s::int) i, unnest(%s::text[]) with ordinality u(n, k) "
        "order by i, case when i %% 2 = 1 then k else -k end",
        (rounds, names),
    )


def ids(conn: psycopg.Connection, names: list[str]) -> list[int]:
    """The endpoints' ids, in the order of names."""
    return [int(scalar(conn, "select endpoint_id from hookline.endpoints where name = %s", (n,)))
            for n in names]  # fmt: skip


def run_threads(work: Callable[[int, psycopg.Connection], None], count: int, db: str) -> list[BaseException]:  # fmt: skip
    """work(i, conn) in count threads released together; returns what they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            with psycopg.connect(db, autocommit=True) as c:
                barrier.wait()
                work(i, c)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_concurrent_completes_over_shared_endpoints_never_deadlock(db: str, conn, tenant_source) -> None:  # fmt: skip
    a, b = add_endpoint(conn, "a"), add_endpoint(conn, "b")
    ingest_alternating(conn, ["a", "b"], 400)  # ids a, b, b, a, a, b, ...
    leases = conn.execute(
        "select delivery_id, lease_token, endpoint_id from hookline.claim('setup', 800, '10 minutes') "
        "order by delivery_id"
    ).fetchall()
    assert len(leases) == 800
    # Pairs that meet the endpoints in opposite orders: (a, b) for even sessions, (b, a) for odd.
    pairs: list[list[list[tuple]]] = [[], [], [], []]
    for n, i in enumerate(range(0, len(leases), 2)):
        pair = leases[i : i + 2]
        assert [r[2] for r in pair] == ([a, b] if n % 2 == 0 else [b, a])
        pairs[n % 4].append(pair)
    statuses = [503, 200, 500, 204, 410]

    def complete(i: int, c: psycopg.Connection) -> None:
        for n, pair in enumerate(pairs[i]):
            results = [
                {"delivery_id": d, "lease_token": str(tok), "status_code": statuses[(n + k) % 4]}
                for k, (d, tok, _e) in enumerate(pair)
            ]
            c.execute("select count(*) from hookline.complete(%s)", (Jsonb(results),))

    def claim_and_complete(i: int, c: psycopg.Connection) -> None:
        for n in range(60):  # retries come due at once and are claimed here, mixing endpoints
            rows = c.execute(
                "select delivery_id, lease_token from hookline.claim(%s, 8, '1 minute')", (f"r{i}",)
            ).fetchall()
            results = [
                {"delivery_id": d, "lease_token": str(tok), "status_code": statuses[(n + k) % 5]}
                for k, (d, tok) in enumerate(reversed(rows))
            ]
            c.execute("select count(*) from hookline.complete(%s)", (Jsonb(results),))

    errors = run_threads(lambda i, c: (complete if i < 4 else claim_and_complete)(i, c), 6, db)
    deadlocks = [e for e in errors if isinstance(e, psycopg.errors.DeadlockDetected)]
    assert deadlocks == [], f"{len(deadlocks)} sessions deadlocked: {deadlocks[0]}"
    assert errors == []
    # Every result was recorded once: no delivery is left leased by the setup claim.
    assert scalar(conn, "select count(*) from hookline.deliveries where runner = 'setup'") == 0


def test_a_second_runner_claiming_from_a_hot_endpoint_waits_briefly_and_gets_the_rest(db: str, conn, tenant_source) -> None:  # fmt: skip
    add_endpoint(conn, "hot", max_in_flight=30)
    ingest_alternating(conn, ["hot"], 100)
    got: dict[str, int] = {}
    with psycopg.connect(db) as first:  # a transaction: its claim holds the endpoint until commit
        got["first"] = len(
            first.execute("select * from hookline.claim('r1', 20, '1 minute')").fetchall()
        )

        def second() -> None:
            with psycopg.connect(db, autocommit=True) as c:
                got["second"] = len(
                    c.execute("select * from hookline.claim('r2', 20, '1 minute')").fetchall()
                )

        t = threading.Thread(target=second)
        t.start()
        wait_until(
            lambda: (
                scalar(
                    conn,
                    "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                    "and query like '%%hookline.claim(%%r2%%'",
                )
                == 1
            ),
            what="the second claim to wait for the first",
        )
        first.commit()
        t.join()
    assert got == {"first": 20, "second": 10}, "both runners get rows; together max_in_flight"


def test_when_more_endpoints_are_due_than_a_claim_takes_a_second_claim_skips_the_held_ones(db: str, conn, tenant_source) -> None:  # fmt: skip
    # Four endpoints with due work and claims of 2: crowded. The first claim holds the two
    # oldest until it commits; a second claim no longer queues for them (to find them full
    # afterwards, and come back empty while the others have room): it takes the other two.
    names = ["a", "b", "c", "d"]
    ids = {name: add_endpoint(conn, name, max_in_flight=1) for name in names}
    ingest_alternating(conn, names, 2)
    with psycopg.connect(db) as first:  # a transaction: its claim holds its endpoints
        taken = first.execute("select endpoint_id from hookline.claim('r1', 2, '1 minute')").fetchall()  # fmt: skip
        assert sorted(e for (e,) in taken) == [ids["a"], ids["b"]]
        with psycopg.connect(db, autocommit=True) as second:
            second.execute("set lock_timeout = '5s'")  # the old claim waited for the first one
            rows = second.execute("select endpoint_id from hookline.claim('r2', 2, '1 minute')").fetchall()  # fmt: skip
        assert sorted(e for (e,) in rows) == [ids["c"], ids["d"]], "the endpoints nobody holds"
        first.commit()
    # Every endpoint is at its max_in_flight (1) now: nothing more, by any claim.
    assert conn.execute("select * from hookline.claim('r3', 2, '1 minute')").fetchall() == []


def test_max_in_flight_holds_under_concurrent_claims(db: str, conn, tenant_source) -> None:
    add_endpoint(conn, "tight", max_in_flight=7)
    add_endpoint(conn, "loose", max_in_flight=1000)
    ingest_alternating(conn, ["tight", "loose"], 300)
    in_flight = (
        "select count(*) from hookline.deliveries d join hookline.endpoints e using (endpoint_id) "
        "where e.name = 'tight' and d.state = 'in_flight'"
    )
    for _round in range(3):

        def claim(i: int, c: psycopg.Connection) -> None:
            for _ in range(15):
                c.execute("select * from hookline.claim(%s, 5, '10 minutes')", (f"r{i}",))

        assert run_threads(claim, 4, db) == []
        assert scalar(conn, in_flight) == 7
        conn.execute(
            "select count(*) from hookline.complete((select jsonb_agg(jsonb_build_object("
            "'delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 200)) "
            "from hookline.deliveries where state = 'in_flight'))"
        )
        assert scalar(conn, in_flight) == 0


def test_max_in_flight_holds_while_sessions_count_from_their_lease_cursors(db: str, conn, tenant_source) -> None:  # fmt: skip
    """Each session counts an endpoint's leases from its own lease cursor (docs/delivery.md): the
    oldest lease unexpired at its last count, in claim order. Four sessions with different lease
    lengths claim while the others finish their leases in every way (200, 503 and due again at
    once, release), and look after each claim: never more than max_in_flight unexpired."""
    add_endpoint(conn, "tight", max_in_flight=7)
    ingest_alternating(conn, ["tight"], 400)
    unexpired = (
        "select count(*) from hookline.deliveries d join hookline.endpoints e using (endpoint_id) "
        "where e.name = 'tight' and d.state = 'in_flight' and d.next_attempt_at > clock_timestamp()"
    )
    seen: list[int] = []
    claimed: list[int] = []

    def work(i: int, c: psycopg.Connection) -> None:
        held: list[tuple] = []
        for n in range(40):
            rows = c.execute(
                "select delivery_id, lease_token from hookline.claim(%s, 3, %s::interval)",
                (f"r{i}", f"{5 + i} minutes"),
            ).fetchall()
            seen.append(int(scalar(c, unexpired)))
            claimed.append(len(rows))
            held += rows
            if n % 3 == 2 and held:  # give back the newest lease unanswered
                d, tok = held.pop()
                given = [{"delivery_id": d, "lease_token": str(tok)}]
                c.execute("select hookline.release(%s, %s)", (f"r{i}", Jsonb(given)))
            done, held = held[: len(held) // 2 + n % 2], held[len(held) // 2 + n % 2 :]
            if done:
                results = [
                    {"delivery_id": d, "lease_token": str(tok), "status_code": (200, 503)[k % 2]}
                    for k, (d, tok) in enumerate(done)
                ]
                c.execute("select count(*) from hookline.complete(%s)", (Jsonb(results),))

    assert run_threads(work, 4, db) == []
    assert max(seen) <= 7, f"more than max_in_flight (7) leases at once: {max(seen)}"
    assert max(seen) == 7, "the sessions reached the limit (the test exercised it)"
    assert sum(claimed) > 100


def test_a_flapping_endpoint_is_throttled_by_its_breaker_not_starved(conn, tenant_source) -> None:
    """Issue 12's case: a handler that answers 2xx to 35 % of requests, 503 to the rest. Its
    breaker opens (65 % failures), and after the cool-down it stays half-open: ten requests at a
    time, sample after sample, instead of reopening on the first failed probe."""
    add_endpoint(conn, "flaky", max_in_flight=20, schedule="{" + ", ".join(["1 s"] * 50) + "}")
    ingest_alternating(conn, ["flaky"], 1800)
    start = scalar(conn, "select min(next_attempt_at) from hookline.deliveries")
    answered = succeeded = open_steps = 0
    for step in range(200):  # 200 s of simulated time, one claim of up to 20 a second
        rows = conn.execute(
            "select delivery_id, lease_token from hookline.claim('r1', 20, '30 seconds', "
            "%s + make_interval(secs => %s))",
            (start, step),
        ).fetchall()
        results = []
        for d, tok in rows:
            ok = (answered * 7) % 20 < 7  # 7 of every 20 answers, spread out: 35 %
            answered += 1
            succeeded += ok
            results.append(
                {"delivery_id": d, "lease_token": str(tok), "status_code": 200 if ok else 503}
            )
        conn.execute(
            "select count(*) from hookline.complete(%s, %s + make_interval(secs => %s))",
            (Jsonb(results), start, step + 0.5),
        )
        open_steps += scalar(
            conn, "select count(*) from hookline.circuit_breakers where state = 'open'"
        )
    transitions = [r[0] for r in conn.execute(
        "select to_state from hookline.breaker_transitions order by transition_id"
    )]  # fmt: skip
    assert transitions[:2] == ["open", "half_open"], transitions
    assert open_steps <= 40, "open for its first cool-down (30 s), not again and again"
    # Unthrottled it would get 20 answers a second (1,400 successes in 200 s); half-open takes
    # ten at a time: 599 successes, open 31 s. The old policy (two probes, reopen on a failed
    # one, cool-down doubling), in the same simulation: 16 successes, open 199 s of 200.
    assert succeeded >= 400, f"{succeeded} successes in {answered} answers"


def test_a_long_writing_transaction_stalls_neither_the_idle_runner_nor_other_writers(db: str, conn, tenant_source) -> None:  # fmt: skip
    add_endpoint(conn, "crm")
    with psycopg.connect(db) as long_tx:  # ingests, then stays open (its commit is far away)
        long_tx.execute("select hookline.ingest('acme-wa', 'long-1', 'test.crm', '{}')")
        with psycopg.connect(db, autocommit=True) as runner:
            due = scalar(runner, "select hookline.next_due() <= now()")
            assert due is True, "it answers 'look again now' instead of waiting for the writer"
        ingest_alternating(conn, ["crm"], 3)  # another writer is not queued behind anything
        long_tx.commit()
    assert scalar(conn, "select count(*) from hookline.deliveries") == 4


def test_a_long_writing_transaction_that_woke_the_runner_stalls_no_other_writer(db: str, conn, tenant_source) -> None:  # fmt: skip
    """A runner waits; a writer clears its flag and stays open. The next writer used to wait for
    that writer's commit on the flag's row (the ingress stalled behind one open transaction);
    it now goes on and wakes the runner itself, before the open one commits."""
    add_endpoint(conn, "crm")
    with psycopg.connect(db, autocommit=True) as runner:
        runner.execute("listen hookline_deliveries")
        assert scalar(runner, "select hookline.next_due()") is None  # waits: nothing queued
        with psycopg.connect(db) as long_tx:
            long_tx.execute("select hookline.ingest('acme-wa', 'long-1', 'test.crm', '{}')")
            other_pid = scalar(conn, "select pg_backend_pid()")
            done = threading.Event()

            def other_writer() -> None:
                conn.execute("select hookline.ingest('acme-wa', 'other-1', 'test.crm', '{}')")
                done.set()

            t = threading.Thread(target=other_writer)
            t.start()
            with psycopg.connect(db, autocommit=True) as watcher:
                wait_until(
                    lambda: (
                        done.is_set()
                        or scalar(
                            watcher,
                            "select wait_event_type = 'Lock' from pg_stat_activity where pid = %s",
                            (other_pid,),
                        )
                    ),
                    what="the other writer to finish or wait",
                )
            assert done.is_set(), "the other writer waits for the open transaction"
            t.join()
            notes = list(runner.notifies(timeout=5, stop_after=1))
            assert [n.channel for n in notes] == ["hookline_deliveries"], "the runner is woken"
            long_tx.commit()
    assert scalar(conn, "select count(*) from hookline.deliveries") == 2


def test_an_ingest_during_remove_endpoint_stores_its_event_without_that_endpoint(db: str, conn, tenant_source) -> None:  # fmt: skip
    """An ingest that matched a subscription of an endpoint being removed waits for the removal
    and leaves that endpoint out (its foreign-key check failed with 23503 once the removal
    committed, and the request was refused)."""
    add_endpoint(conn, "gone")
    add_endpoint(conn, "stays")
    conn.execute(
        "select hookline.add_subscription(endpoint => 'stays', event_type_pattern => 'test.gone')"
    )
    with psycopg.connect(db) as remover:
        remover.execute("select hookline.remove_endpoint('gone')")
        pid = scalar(conn, "select pg_backend_pid()")
        errors: list[BaseException] = []

        def ingest() -> None:
            try:
                conn.execute(
                    "select hookline.ingest('acme-wa', 'during-removal', 'test.gone', '{}')"
                )
            except BaseException as exc:  # reported by the test
                errors.append(exc)

        t = threading.Thread(target=ingest)
        t.start()
        with psycopg.connect(db, autocommit=True) as watcher:
            wait_until(
                lambda: scalar(
                    watcher,
                    "select wait_event_type = 'Lock' from pg_stat_activity where pid = %s",
                    (pid,),
                ),
                what="the ingest to wait for the removal",
            )
        remover.commit()
        t.join()
    assert errors == []
    assert conn.execute(
        "select e.name from hookline.deliveries d join hookline.endpoints e using (endpoint_id)"
    ).fetchall() == [("stays",)]


@pytest.mark.parametrize("operation", ["replay", "discard"])
def test_set_endpoint_and_an_audited_write_of_its_deliveries_never_deadlock(db: str, conn, tenant_source, operation: str) -> None:  # fmt: skip
    """A replay (or discard) writes its audit row, under the audit chain's lock, before the
    foreign-key check of the row it inserts locks the endpoint (KEY SHARE); set_endpoint locks
    the endpoint, then writes its audit row. With FOR UPDATE, which KEY SHARE waits for, the two
    deadlocked (found by a concurrency fuzz of the delivery functions). An operator's open
    transaction holds the audit lock so that the two queue behind it in that order."""
    add_endpoint(conn, "crm")
    add_endpoint(conn, "other")
    ingest_alternating(conn, ["crm"], 1)
    delivery_id, token = conn.execute(
        "select delivery_id, lease_token from hookline.claim('r1', 1, '1 minute')"
    ).fetchone()
    if operation == "replay":
        conn.execute(
            "select hookline.complete(%s)",
            (Jsonb([{"delivery_id": delivery_id, "lease_token": str(token), "status_code": 404}]),),
        )
    errors: list[BaseException] = []

    def run(query: str) -> None:
        try:
            with psycopg.connect(db, autocommit=True) as c:
                c.execute(query, (delivery_id,))
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    def waiting_for_the_audit_lock() -> int:
        return int(
            scalar(
                conn,
                "select count(*) from pg_stat_activity "
                "where wait_event_type = 'Lock' and wait_event = 'advisory'",
            )
        )

    with psycopg.connect(db) as holder:
        holder.execute("select hookline.pause_endpoint('other')")  # holds the audit lock
        first = threading.Thread(
            target=run, args=(f"select hookline.{operation}(array[%s]::bigint[])",)
        )
        first.start()
        wait_until(lambda: waiting_for_the_audit_lock() == 1, what=f"the {operation} to wait")
        second = threading.Thread(
            target=run,
            args=("select hookline.set_endpoint('crm', max_in_flight => 3) where %s > 0",),
        )
        second.start()
        wait_until(lambda: waiting_for_the_audit_lock() == 2, what="set_endpoint to wait")
        holder.commit()
        first.join()
        second.join()
    deadlocks = [e for e in errors if isinstance(e, psycopg.errors.DeadlockDetected)]
    assert deadlocks == [], f"deadlocked: {deadlocks[0]}"
    assert errors == []
    assert scalar(conn, "select max_in_flight from hookline.endpoints where name = 'crm'") == 3
    live = scalar(
        conn, "select count(*) from hookline.deliveries where delivery_id = %s", (delivery_id,)
    )
    assert live == (1 if operation == "replay" else 0)


@pytest.mark.parametrize(
    "operator_call",
    [
        "select hookline.set_breaker('endpoint:' || %s, 'open', 'test')",
        "select hookline.configure_breaker('endpoint:' || %s, probes => 3)",
    ],
    ids=["set_breaker", "configure_breaker"],
)
def test_set_breaker_of_a_new_breaker_and_a_complete_creating_it_never_deadlock(db: str, conn, tenant_source, operator_call: str) -> None:  # fmt: skip
    """The outbox's deadlock (set_breaker created a sender's breaker, then waited for the audit
    chain's lock held by a complete_messages that had paused another number and went on to
    create the same breaker) has no delivery twin: complete feeds the breakers (step 3) before
    its only audited write, the 410 pause (step 4), so it takes the breaker before the audit
    lock, as set_breaker and configure_breaker do. An operator's open transaction holds the
    audit lock; the complete (a 410 of one endpoint, a 500 that creates another's breaker)
    starts and waits for it, then the operator call, which waits for the complete's new
    breaker row. With the pause before the breakers (checked by moving step 3 of complete after
    step 4), the complete got the audit lock first and then waited for the operator call's new
    breaker row while that call waited for the audit lock: 40P01."""
    add_endpoint(conn, "gone")
    fresh = add_endpoint(conn, "fresh")
    add_endpoint(conn, "other")
    ingest_alternating(conn, ["gone", "fresh"], 1)
    leases = conn.execute(
        "select delivery_id, lease_token, endpoint_id from hookline.claim('r1', 2, '1 minute') "
        "order by delivery_id"
    ).fetchall()
    assert len(leases) == 2
    results = [
        {"delivery_id": d, "lease_token": str(tok), "status_code": 500 if e == fresh else 410}
        for d, tok, e in leases
    ]
    errors: list[BaseException] = []

    def run(query: str, args: tuple, pids: list[int]) -> None:
        try:
            with psycopg.connect(db, autocommit=True) as c:
                pids.append(c.info.backend_pid)
                c.execute(query, args)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    def waits(pids: list[int]) -> bool:
        return bool(pids) and bool(
            scalar(
                conn,
                "select wait_event_type = 'Lock' from pg_stat_activity where pid = %s",
                (pids[0],),
            )
        )

    threads = []
    with psycopg.connect(db) as holder:
        holder.execute("select hookline.pause_endpoint('other')")  # holds the audit lock
        for what, query, args in (
            ("the complete", "select count(*) from hookline.complete(%s)", (Jsonb(results),)),
            ("the operator call", operator_call, (fresh,)),
        ):
            pids: list[int] = []
            t = threading.Thread(target=run, args=(query, args, pids))
            t.start()
            threads.append(t)
            wait_until(lambda pids=pids: waits(pids), what=f"{what} to wait")
        holder.commit()
    for t in threads:
        t.join()
    deadlocks = [e for e in errors if isinstance(e, psycopg.errors.DeadlockDetected)]
    assert deadlocks == [], f"deadlocked: {deadlocks[0]}"
    assert errors == []
    assert conn.execute(
        "select state, paused_reason like 'answered 410%%' from hookline.endpoints where name = 'gone'"
    ).fetchone() == ("paused", True)
    # In that order: the holder's pause, the complete's (410), then the operator call.
    assert conn.execute(
        "select array_agg(action || ' ' || coalesce(target->>'endpoint_id', target->>'target') "
        "order by audit_id) from hookline.audit_log "
        "where action in ('endpoints.update', 'breakers.set')"
    ).fetchone()[0] == [
        *(f"endpoints.update {i}" for i in ids(conn, ["other", "gone"])),
        f"breakers.set endpoint:{fresh}",
    ]


def test_a_breaker_that_opens_during_a_claim_is_not_locked_out_of_order(db: str, conn, tenant_source) -> None:  # fmt: skip
    """claim locks breakers in its step 2, after the endpoints and before any delivery, in
    target order. Its step 4 (each endpoint's room, hookline._breaker_room) turned an open
    breaker past its cool-down half-open under a lock of its own, taken there and then: for a
    breaker that opened after step 2 read the breakers (with open_until <= the claim's now, by
    a complete whose now trails the claim's by at least the cool-down), after it had locked
    the deliveries of the endpoints before it in the batch. A complete that held that breaker
    (it read it closed and took it from the complete that opened it) and then locked its
    deliveries (by id) waited for one the claim held, the claim for the breaker: 40P01.

    Every session is a function call the system makes: c0 and c (claims of two runners), k
    (the complete that opens the breaker), k2 (a complete with a failure of that endpoint and
    late results of two deliveries), k3 (a complete of one of those). Each holds its
    transaction open until the next one is seen waiting for it (pg_blocking_pids), so the
    interleaving is the same on every run: c waits for c0's endpoint (step 1, reading the
    breaker closed), k opens the breaker (a 1 s cool-down, at now - 30 s), k2 waits for k's
    breaker and then for k3's delivery x1; c0 commits, and c claims d (A's) and then, on the
    old code, waited for k2's breaker; k3 commits, k2 goes on to d, held by c: 40P01 (checked
    on the code before this change: the claim waited for k2 and the check below failed; let
    go, one of the two sessions got DeadlockDetected). Now a breaker that step 2 did not lock
    gives no room in step 4 (it is open): the claim takes d and commits, and the next claim
    turns the breaker half-open."""
    _early, flaky, _other = (add_endpoint(conn, n) for n in ("early", "flaky", "other"))
    conn.execute("select hookline.configure_breaker('endpoint:' || %s, max_consecutive_failures => 1, "
                 "base_cooldown => '1 second')", (flaky,))  # fmt: skip
    t = conn.execute("select date_trunc('second', clock_timestamp())").fetchone()[0]

    def ingest(name: str, key: str, seconds_ago: int) -> int:
        conn.execute(
            "select hookline.ingest('acme-wa', %s, 'test.' || %s, '{}', null, %s::timestamptz - %s * interval '1 second')",
            (key, name, t, seconds_ago),
        )
        return int(scalar(conn, "select max(delivery_id) from hookline.deliveries"))

    b1, b2, x1 = ingest("flaky", "b1", 100), ingest("flaky", "b2", 100), ingest("other", "x1", 100)
    leased = {
        d: str(tok)
        for d, tok in conn.execute(
            "select delivery_id, lease_token from hookline.claim('r0', 10, '1 hour', %s::timestamptz - interval '90 seconds')",
            (t,),
        ).fetchall()
    }
    assert sorted(leased) == [b1, b2, x1]
    a1, d, b3 = ingest("early", "a1", 50), ingest("early", "d", 20), ingest("flaky", "b3", 5)
    stale = "00000000-0000-0000-0000-000000000000"

    def result(delivery_id: int, token: str, status: int) -> dict:
        return {"delivery_id": delivery_id, "lease_token": token, "status_code": status}

    errors: list[BaseException] = []
    claimed: list[int] = []

    def run(query: str, args: tuple, pids: list[int], rows: list[int] | None = None) -> None:
        try:
            with psycopg.connect(db, autocommit=True) as c:
                pids.append(c.info.backend_pid)
                got = c.execute(query, args).fetchall()
                if rows is not None:
                    rows.extend(r[0] for r in got)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    def blocked_by(pids: list[int], holder: psycopg.Connection) -> bool:
        return bool(pids) and bool(
            scalar(
                conn, "select %s = any(pg_blocking_pids(%s))", (holder.info.backend_pid, pids[0])
            )
        )

    c_pids: list[int] = []
    k2_pids: list[int] = []
    threads = []
    with (
        psycopg.connect(db) as c0,
        psycopg.connect(db) as k,
        psycopg.connect(db) as k3,
    ):
        try:
            # c0: a claim that holds endpoint early (and a1) for the moment of its transaction.
            assert [r[0] for r in c0.execute(
                "select delivery_id from hookline.claim('r0', 10, '1 hour', %s::timestamptz - interval '40 seconds')",
                (t,),
            ).fetchall()] == [a1]  # fmt: skip
            # k3: a complete of x1 that holds it.
            k3.execute("select count(*) from hookline.complete(%s, %s::timestamptz - interval '30 seconds')",
                       (Jsonb([result(x1, leased[x1], 200)]), t))  # fmt: skip
            # c: a claim at t; step 1 waits for c0's lock of endpoint early, the breaker closed.
            th = threading.Thread(target=run, args=(
                "select delivery_id from hookline.claim('r1', 10, '1 hour', %s)", (t,), c_pids, claimed))  # fmt: skip
            th.start()
            threads.append(th)
            wait_until(lambda: blocked_by(c_pids, c0), what="the claim to wait for c0")
            # k: b1's 500 opens flaky's breaker until t - 29 s.
            k.execute("select count(*) from hookline.complete(%s, %s::timestamptz - interval '30 seconds')",
                      (Jsonb([result(b1, leased[b1], 500)]), t))  # fmt: skip
            assert scalar(k, "select state from hookline.circuit_breakers where target = 'endpoint:' || %s",
                          (flaky,)) == "open"  # fmt: skip
            # k2: b2's 500 (it reads the breaker closed), late results of x1 and d.
            th = threading.Thread(target=run, args=(
                "select delivery_id from hookline.complete(%s, %s::timestamptz - interval '30 seconds')",
                (Jsonb([result(b2, leased[b2], 500), result(x1, leased[x1], 200), result(d, stale, 200)]), t),
                k2_pids))  # fmt: skip
            th.start()
            threads.append(th)
            wait_until(
                lambda: blocked_by(k2_pids, k), what="the second complete to wait for the breaker"
            )
            k.commit()
            wait_until(lambda: blocked_by(k2_pids, k3), what="the second complete to wait for x1")
            c0.commit()

            def k2_blocks_claim() -> bool:
                return bool(
                    scalar(conn, "select %s = any(pg_blocking_pids(%s))", (k2_pids[0], c_pids[0]))
                )

            wait_until(lambda: not threads[0].is_alive() or k2_blocks_claim(),
                       what="the claim to finish or wait for the second complete")  # fmt: skip
            assert not k2_blocks_claim(), (
                "the claim waited for a breaker lock after it had locked deliveries (out of the lock order)"
            )
        finally:
            k3.commit()
            for th in threads:
                th.join()
    deadlocks = [e for e in errors if isinstance(e, psycopg.errors.DeadlockDetected)]
    assert deadlocks == [], f"deadlocked: {deadlocks[0]}"
    assert errors == []
    assert claimed == [d]
    assert scalar(conn, "select state from hookline.circuit_breakers where target = 'endpoint:' || %s",
                  (flaky,)) == "open"  # fmt: skip
    # The next claim turns it half-open and leases its probes (b1 and b2 are retries now).
    probes = conn.execute(
        "select delivery_id from hookline.claim('r2', 10, '1 hour', %s::timestamptz + interval '1 second')",
        (t,),
    ).fetchall()
    assert probes and {r[0] for r in probes} <= {b1, b2, b3}
    assert scalar(conn, "select state from hookline.circuit_breakers where target = 'endpoint:' || %s",
                  (flaky,)) == "half_open"  # fmt: skip
