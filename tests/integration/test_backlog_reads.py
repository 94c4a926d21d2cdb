"""The claims read what they claim, not the backlog (issue 11: claim cost independent of the
backlog).

After an outage a queue holds a backlog: work due at endpoints or numbers that are paused, and
work deferred into the future (retries; for the outbox, pair-limit waits) at an endpoint or a
number whose breaker is half-open and probing. The claim, complete and release functions and
the idle runner's wait run all the time, so a read of theirs that walks that backlog costs
every call in proportion to it. Each test below measures the shared buffers one call reads
(EXPLAIN ANALYZE BUFFERS of the call, nested statements included, in a transaction rolled
back: a count, not a time) with a small backlog and again after 20,000 more rows of each kind,
in one session whose plans were made while the queue had no live row (a quiet system, the
runner's first claims; the plans are kept for the session's life). Before the fix, the outbox
claim's choice of numbers was planned as a read of every due message of every number, its
lock of the allowed messages as a read of a live messages' partial index whole, and a
half-open number's count of its leases walked every message deferred into the future.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb

GROWTH = 20000
SECOND, HOUR = timedelta(seconds=1), timedelta(hours=1)


def insert_messages(conn: psycopg.Connection, number: str, tag: str, count: int, due: timedelta) -> None:  # fmt: skip
    """count queued messages of `number` to recipients of their own, due `due` from now."""
    conn.execute(
        "insert into hookline.outbox (source_id, next_attempt_at, created_at, state, "
        "phone_number_id, tenant_id, idempotency_key, recipient, message) "
        "select n.source_id, now() + %s, now(), 'queued', n.phone_number_id, n.tenant_id, "
        "%s || '-' || i, '+1' || lpad((b.base + i)::text, 12, '0'), "
        '\'{"type": "text", "text": {"body": "hi"}}\' '
        "from hookline.senders n, generate_series(1, %s::int) i, "
        "(select coalesce(max(message_id), 0) as base from hookline.outbox) b "
        "where n.phone_number_id = %s",
        (due, tag, count, number),
    )


def insert_sent(conn: psycopg.Connection, number: str, tag: str, count: int) -> None:
    """count messages of `number` sent (claimed) a second ago, to recipients of their own: the
    number's claims in its pair window, which each candidate's pair-limit count must not read."""
    conn.execute(
        "insert into hookline.outbox (source_id, created_at, sent_at, last_claimed_at, state, "
        "phone_number_id, tenant_id, idempotency_key, recipient, wamid, message, attempt_count) "
        "select n.source_id, now(), now(), now() - interval '1 second', 'sent', n.phone_number_id, "
        "n.tenant_id, %s || '-' || i, '+1' || lpad((b.base + i)::text, 12, '0'), "
        "'wamid.' || %s || i, '{\"type\": \"text\"}', 1 "
        "from hookline.senders n, generate_series(1, %s::int) i, "
        "(select coalesce(max(message_id), 0) as base from hookline.outbox) b "
        "where n.phone_number_id = %s",
        (tag, tag, count, number),
    )


def read_buffers(conn: psycopg.Connection, call: tuple[str, object]) -> int:
    """Shared buffers (hit and read) of one call, rolled back."""
    sql, params = call
    with conn.transaction(force_rollback=True):
        plan = conn.execute("explain (analyze, buffers, format json) " + sql, params).fetchone()[0]
    top = plan[0]["Plan"]
    return top["Shared Hit Blocks"] + top["Shared Read Blocks"]


def reads_hold(session: psycopg.Connection, call: tuple[str, object], grow: Callable[[], None], function: str, beside: str) -> None:  # fmt: skip
    """The call's shared buffers after `grow()` stay within twice (plus 20) what they were
    before it. The first call with work makes the plans of the statements that had none yet
    (still on the statistics of the quiet state); the second is the one measured."""
    read_buffers(session, call)
    small = read_buffers(session, call)
    grow()
    large = read_buffers(session, call)
    assert large <= 2 * small + 20, (
        f"{function} read {large} shared buffers beside {beside} against {small} before: "
        "a read follows what grew"
    )


@pytest.fixture(params=["history", "empty"])
def outbox_backlog(request: pytest.FixtureRequest, db: str, conn: psycopg.Connection, tenant_source: str) -> Iterator[psycopg.Connection]:  # fmt: skip
    """Number 1065 (acme-wa) with a half-open breaker and nothing live, and a sent history of a
    day ago ("history") or none at all ("empty": a new installation); number 2065 (another
    source) paused. Yields a session whose claim_messages and next_message_due plans were made
    in that state."""
    conn.execute("select hookline.add_sender('acme-wa', '1065', 'EAAG-token-1', messages_per_second => 1000)")  # fmt: skip
    conn.execute("select hookline.add_source('acme', 'acme-other', 'whatsapp', 'app-secret')")
    conn.execute("select hookline.add_sender('acme-other', '2065', 'EAAG-token-2')")
    conn.execute("select hookline.pause_sender('2065', 'backlog')")
    if request.param == "history":
        conn.execute(
            "insert into hookline.outbox (source_id, created_at, sent_at, last_claimed_at, state, "
            "phone_number_id, tenant_id, idempotency_key, recipient, wamid, message, attempt_count) "
            "select n.source_id, now() - interval '1 day', now() - interval '1 day', "
            "now() - interval '1 day', 'sent', '1065', 'acme', 'h-' || i, "
            "'+1' || lpad(i::text, 12, '9'), 'wamid.h' || i, '{\"type\": \"text\"}', 1 "
            "from hookline.senders n, generate_series(1, 2000) i where n.phone_number_id = '1065'"
        )
    conn.execute("alter table hookline.outbox set (autovacuum_enabled = off)")
    conn.execute("vacuum analyze hookline.outbox")  # the statistics: no live message
    conn.execute(
        "insert into hookline.circuit_breakers (target, state, window_started_at, changed_at, "
        "probes) values ('sender:1065', 'half_open', now(), now(), 10)"
    )
    with psycopg.connect(db, autocommit=True) as session:
        # The runner's first calls, with nothing to send: their plans are made now.
        for _ in range(3):
            session.execute("select * from hookline.claim_messages('r1', 5, '1 minute')").fetchall()
            session.execute("select hookline.next_message_due()").fetchall()
        yield session


def outbox_calls(session: psycopg.Connection, function: str) -> tuple[str, object]:
    """The call measured: a claim of 5; the idle runner's wait; the complete or the release of 5
    messages claimed (for real) before the backlog grew, with answers of every kind."""
    if function == "claim_messages":
        return "select count(*) from hookline.claim_messages('r1', 5, '1 minute')", None
    if function == "next_message_due":
        return "select hookline.next_message_due()", None
    rows = session.execute(
        "select message_id, lease_token from hookline.claim_messages('r1', 5, '1 minute')"
    ).fetchall()
    assert len(rows) == 5
    if function == "release_messages":
        leases = [{"message_id": r[0], "lease_token": str(r[1])} for r in rows]
        return "select count(*) from hookline.release_messages('r1', %s)", (Jsonb(leases),)
    answers = [
        {"status_code": 200, "wamid": "wamid.ok"}, {"status_code": 503}, {"error_class": "timeout"},
        {"status_code": 400, "error_code": 131026}, {"status_code": 400, "error_code": 131056},
    ]  # fmt: skip
    results = [
        {"message_id": r[0], "lease_token": str(r[1])} | a
        for r, a in zip(rows, answers, strict=True)
    ]
    return "select count(*) from hookline.complete_messages(%s)", (Jsonb(results),)


OUTBOX_FUNCTIONS = ["claim_messages", "next_message_due", "complete_messages", "release_messages"]


@pytest.mark.parametrize("function", OUTBOX_FUNCTIONS)
def test_an_outbox_call_reads_about_as_much_beside_a_backlog_of_20000(outbox_backlog: psycopg.Connection, conn: psycopg.Connection, function: str) -> None:  # fmt: skip
    """A few messages due at 1065; then 20,000 due at the paused 2065, 20,000 of 1065
    deferred an hour ahead (its breaker half-open) and 20,000 that 1065 sent a second ago (in
    its pair window): the call's reads stay within twice what they were. Before the fixes:
    with a history, claim_messages 197 and 2,691, next_message_due 18 and 471 (the first two
    kinds only); on an empty outbox, claim_messages 152 and 4,646 (each candidate's pair-limit
    count read every claim of the number in the window) and complete_messages 199 and 2,146
    (a pair-limit answer's recipients found by reading outbox_pair_idx whole)."""
    insert_messages(conn, "1065", "due", 10, -SECOND)
    insert_messages(conn, "2065", "paused", 50, -SECOND)
    insert_messages(conn, "1065", "later", 50, HOUR)

    def grow() -> None:
        insert_messages(conn, "2065", "paused-more", GROWTH, -SECOND)
        insert_messages(conn, "1065", "later-more", GROWTH, HOUR)
        insert_sent(conn, "1065", "sent-more", GROWTH)

    call = outbox_calls(outbox_backlog, function)
    reads_hold(outbox_backlog, call, grow, function, f"a backlog of {3 * GROWTH} more")


@pytest.mark.parametrize("function", ["claim_messages", "next_message_due"])
def test_an_outbox_call_reads_about_as_much_beside_2000_idle_numbers(outbox_backlog: psycopg.Connection, conn: psycopg.Connection, function: str) -> None:  # fmt: skip
    """Ten messages due at 1065; then 2,000 more active numbers of the same source, with no
    message: the call's reads stay within twice what they were (when each active number's
    first message was probed and every sender read: claim_messages 171 and 2,308 shared
    buffers after the backlog fix, next_message_due 18 and 2,216 before this pass)."""
    insert_messages(conn, "1065", "due", 10, -SECOND)

    def grow() -> None:
        conn.execute(
            "select count(hookline.add_sender('acme-wa', (3000000 + i)::text, 'EAAG-token-' || i)) "
            "from generate_series(1, 2000) i"
        )

    call = outbox_calls(outbox_backlog, function)
    reads_hold(outbox_backlog, call, grow, function, "2,000 idle numbers more")


def insert_deliveries(conn: psycopg.Connection, endpoint: str, state: str, count: int, due: timedelta) -> None:  # fmt: skip
    """count deliveries of `endpoint` in `state`, due `due` from now, of events that are not
    stored (never claimed here: the endpoint is paused or they are not due)."""
    conn.execute(
        "insert into hookline.deliveries (endpoint_id, tenant_id, event_id, event_received_at, "
        "next_attempt_at, created_at, state, attempt_count) "
        "select e.endpoint_id, e.tenant_id, -i, now(), now() + %s, now(), %s, "
        "case when %s = 'retrying' then 1 else 0 end "
        "from hookline.endpoints e, generate_series(1, %s::int) i where e.name = %s",
        (due, state, state, count, endpoint),
    )


@pytest.fixture
def delivery_backlog(db: str, conn: psycopg.Connection, tenant_source: str) -> Iterator[psycopg.Connection]:  # fmt: skip
    """Endpoint `hot` subscribed to everything, its breaker half-open; endpoint `held` paused;
    no delivery. Yields a session whose claim, complete, release and next_due plans were made
    in that state."""
    for name in ("hot", "held"):
        conn.execute(
            "select hookline.add_endpoint(tenant => 'acme', name => %s, url => 'http://127.0.0.1:9/', "
            "max_in_flight => 1000)",
            (name,),
        )
    conn.execute("select hookline.add_subscription(endpoint => 'hot', event_type_pattern => '*')")
    conn.execute("select hookline.pause_endpoint('held', 'backlog')")
    conn.execute("alter table hookline.deliveries set (autovacuum_enabled = off)")
    conn.execute("vacuum analyze hookline.deliveries")  # the statistics: no delivery
    conn.execute(
        "insert into hookline.circuit_breakers (target, state, window_started_at, changed_at, "
        "probes) select 'endpoint:' || endpoint_id, 'half_open', now(), now(), 10 "
        "from hookline.endpoints where name = 'hot'"
    )
    with psycopg.connect(db, autocommit=True) as session:
        for _ in range(3):  # the runner's first calls, with nothing to deliver
            session.execute("select * from hookline.claim('r1', 5, '1 minute')").fetchall()
            session.execute("select hookline.next_due()").fetchall()
        yield session


def delivery_calls(session: psycopg.Connection, function: str) -> tuple[str, object]:
    """The call measured: a claim of 5; the idle runner's wait; the complete (2xx, 5xx, 429,
    a timeout) or the release of 5 deliveries claimed (for real) before the backlog grew."""
    if function == "claim":
        return "select count(*) from hookline.claim('r1', 5, '1 minute')", None
    if function == "next_due":
        return "select hookline.next_due()", None
    rows = session.execute(
        "select delivery_id, lease_token from hookline.claim('r1', 5, '1 minute')"
    ).fetchall()
    assert len(rows) == 5
    if function == "release":
        leases = [{"delivery_id": r[0], "lease_token": str(r[1])} for r in rows]
        return "select count(*) from hookline.release('r1', %s)", (Jsonb(leases),)
    answers = [
        {"status_code": 200}, {"status_code": 503}, {"status_code": 429, "retry_after_s": 5},
        {"error_class": "timeout"}, {"status_code": 200},
    ]  # fmt: skip
    results = [
        {"delivery_id": r[0], "lease_token": str(r[1]), "runner": "r1", "duration_ms": 3} | a
        for r, a in zip(rows, answers, strict=True)
    ]
    return "select count(*) from hookline.complete(%s)", (Jsonb(results),)


@pytest.mark.parametrize("function", ["claim", "next_due", "complete", "release"])
def test_a_delivery_call_reads_about_as_much_beside_a_backlog_of_20000(delivery_backlog: psycopg.Connection, conn: psycopg.Connection, function: str) -> None:  # fmt: skip
    """Ten events due at `hot` (its breaker half-open) and 50 deliveries due at the paused
    `held`, 50 of `hot` retrying an hour ahead; then 20,000 more of each of the last two: the
    call's reads stay within twice what they were."""
    conn.execute(
        "select count(*) from generate_series(1, 10) i, "
        "lateral hookline.ingest('acme-wa', 'due-' || i, 'test.backlog', '{\"n\": 1}')"
    )
    insert_deliveries(conn, "held", "pending", 50, -SECOND)
    insert_deliveries(conn, "hot", "retrying", 50, HOUR)

    def grow() -> None:
        insert_deliveries(conn, "held", "pending", GROWTH, -SECOND)
        insert_deliveries(conn, "hot", "retrying", GROWTH, HOUR)

    call = delivery_calls(delivery_backlog, function)
    reads_hold(delivery_backlog, call, grow, function, f"a backlog of {2 * GROWTH} more")
