"""The outbox's lock order under concurrency: completes whose batches mix two numbers in
opposite orders, with failures that feed both numbers' breakers and throttles, while claims
run. Every function takes senders, then breakers, then messages, each sorted (docs/outbound.md),
so no deadlock (40P01) may occur."""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest
from psycopg.types.json import Jsonb

TEXT = {"type": "text", "text": {"body": "x"}}
ROUNDS = 60


def queue(conn: psycopg.Connection, pnids: list[str], n: int) -> None:
    """n messages, to fresh recipients, from the numbers in turn (so their ids interleave)."""
    conn.execute(
        "select hookline.send_message('acme-wa', '+1' || (20000000000 + i)::text, %s, "
        "'k-' || i, phone_number_id => (%s::text[])[1 + i %% cardinality(%s::text[])]) "
        "from generate_series(0, %s::int - 1) i",
        (json.dumps(TEXT), pnids, pnids, n),
    )


def claimed(conn: psycopg.Connection, runner: str, n: int) -> dict[str, list[tuple[int, str]]]:
    """Claim n messages; by number, (message_id, lease_token) in id order."""
    rows = conn.execute(
        "select message_id, lease_token::text, phone_number_id "
        "from hookline.claim_messages(%s, %s, '5 minutes') order by message_id",
        (runner, n),
    ).fetchall()
    out: dict[str, list[tuple[int, str]]] = {}
    for m, tok, pnid in rows:
        out.setdefault(pnid, []).append((m, tok))
    return out


def no_deadlock_nor_error(errors: list[BaseException]) -> None:
    """What the threads of a test raised: no deadlock (40P01) first, then nothing at all."""
    deadlocks = [e for e in errors if isinstance(e, psycopg.errors.DeadlockDetected)]
    assert not deadlocks, f"{len(deadlocks)} deadlocks: {deadlocks[0]}"
    assert not errors, errors[0]


def add_senders(conn: psycopg.Connection, pnids: list[str], options: str = "") -> None:
    """Senders of acme-wa (token EAAG-token-1), with add_sender's named arguments `options`
    (SQL, e.g. "messages_per_second => 10000")."""
    for pnid in pnids:
        conn.execute(
            "select hookline.add_sender('acme-wa', %s, 'EAAG-token-1'"
            + (", " + options if options else "")
            + ")",
            (pnid,),
        )


def sent(conn: psycopg.Connection, leases: list[tuple[int, str]], wamid: str | None = None) -> None:  # fmt: skip
    """The leased messages answered 2xx with a wamid (wamid.<message id>, or `wamid`): sent."""
    conn.execute(
        "select hookline.complete_messages(%s)",
        (Jsonb([{"message_id": m, "lease_token": t, "status_code": 200, "wamid": wamid or f"wamid.{m}"}
                for m, t in leases]),),
    )  # fmt: skip


class Call(threading.Thread):
    """One statement in a connection of its own (autocommit), in a thread started at once:
    its backend pid (once connected), its rows, and what it raised, added to `errors` (which
    the test reports with no_deadlock_nor_error)."""

    def __init__(self, db: str, sql: str, args: tuple, errors: list[BaseException]) -> None:
        super().__init__(daemon=True)
        self.db, self.sql, self.args, self.errors = db, sql, args, errors
        self.pids: list[int] = []
        self.rows: list[tuple] = []
        self.start()

    def run(self) -> None:
        try:
            with psycopg.connect(self.db, autocommit=True) as c:
                self.pids.append(c.info.backend_pid)
                cur = c.execute(self.sql, self.args)
                self.rows = cur.fetchall() if cur.description else []
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)


def blocked(conn: psycopg.Connection, pid: int) -> bool:
    """Whether the backend pid waits for a lock."""
    row = conn.execute(
        "select wait_event_type = 'Lock' from pg_catalog.pg_stat_activity where pid = %s", (pid,)
    ).fetchone()
    return bool(row and row[0])


def wait_blocked(conn: psycopg.Connection, pids: list[int], what: str, held: str = "the held message") -> None:  # fmt: skip
    """Until the backend in pids waits for a lock (it fails the test if it never does)."""
    for _ in range(500):
        if pids and blocked(conn, pids[0]):
            return
        time.sleep(0.01)
    raise AssertionError(f"{what} did not wait for {held}")


def waits_or_ends(conn: psycopg.Connection, call: Call) -> bool:
    """Until the call waits for a lock or is done; whether it still runs (it waits)."""
    for _ in range(500):
        if not call.is_alive() or (call.pids and blocked(conn, call.pids[0])):
            break
        time.sleep(0.01)
    return call.is_alive()


def notification(pnid: str, items: list[tuple[str, str, int | None]], code: int = 131000) -> str:
    """A notification of statuses (wamid, status, outbox id or None) of messages of number
    pnid; failed ones with the Graph error `code` (a transient one unless told)."""
    return json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": pnid},
            "statuses": [{"id": w, "status": s, "timestamp": "1749416501", "recipient_id": "16505551234",
                          **({"errors": [{"code": code, "title": "Something went wrong"}]}
                             if s == "failed" else {}),
                          **({"biz_opaque_callback_data": f"hookline:{m}"} if m else {})}
                         for w, s, m in items]}}]}],
    })  # fmt: skip


RECEIVE = "select * from hookline.receive('acme-wa', %s::jsonb, convert_to(%s, 'UTF8'))"


def test_completes_mixing_numbers_in_opposite_orders_never_deadlock(db: str, conn, tenant_source) -> None:  # fmt: skip
    add_senders(conn, ["1065", "2065"], "messages_per_second => 10000, retry_schedule => '{1 h}'")
    queue(conn, ["1065", "2065"], ROUNDS * 8 + 40)
    got = claimed(conn, "setup", 10000)
    a, b = got["1065"], got["2065"]
    assert len(a) >= ROUNDS * 4 and len(b) >= ROUNDS * 4
    # Ids alternate between the numbers. Each round, one thread completes A's message then a
    # higher B's, the other B's then a higher A's: a per-row loop in id order would lock A's
    # breaker then B's in one and B's then A's in the other. Failures (500: transient) lock
    # the breaker; the sender is locked by every complete.
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def completer(first: list[tuple[int, str]], second: list[tuple[int, str]], offset: int) -> None:
        try:
            with psycopg.connect(db, autocommit=True) as c:
                for i in range(ROUNDS):
                    x, y = first[4 * i + offset], second[4 * i + 2 * offset]
                    batch = [
                        {"message_id": x[0], "lease_token": x[1], "status_code": 500},
                        {"message_id": y[0], "lease_token": y[1], "status_code": 500},
                        {"message_id": x[0] + 100000, "lease_token": x[1], "status_code": 200,
                         "wamid": "wamid.none"},
                    ]  # fmt: skip
                    barrier.wait()
                    c.execute(
                        "select count(*) from hookline.complete_messages(%s)", (Jsonb(batch),)
                    )
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
            barrier.abort()

    def claimer() -> None:
        try:
            with psycopg.connect(db, autocommit=True) as c:
                for _ in range(ROUNDS):
                    barrier.wait()
                    c.execute(
                        "select count(*) from hookline.claim_messages('claimer', 2, '5 minutes')"
                    )
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [
        threading.Thread(target=completer, args=(a, b, 0)),
        threading.Thread(target=completer, args=(b, a, 1)),
        threading.Thread(target=claimer),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    no_deadlock_nor_error(errors)
    # Every failed send was recorded once: queued for its retry in an hour, one attempt each.
    failed = conn.execute(
        "select count(*), min(attempt_count), max(attempt_count) from hookline.outbox "
        "where state = 'queued' and attempt_count > 0"
    ).fetchone()
    assert failed == (ROUNDS * 4, 1, 1)
    assert a[0][0] + 1 == b[0][0], "the numbers' message ids interleave"


@pytest.mark.parametrize("status_code", [200, 500])
def test_a_result_for_no_such_message_is_unknown_and_a_late_one_stale(conn, tenant_source, status_code: int) -> None:  # fmt: skip
    add_senders(conn, ["1065"])
    queue(conn, ["1065"], 1)
    ((m, tok),) = claimed(conn, "r", 1)["1065"]
    rows = conn.execute(
        "select message_id, outcome from hookline.complete_messages(%s) order by 1",
        (Jsonb([
            {"message_id": m, "lease_token": "00000000-0000-0000-0000-000000000000",
             "status_code": status_code, "wamid": "wamid.x"},
            {"message_id": m + 1000, "lease_token": tok, "status_code": status_code,
             "wamid": "wamid.y"},
        ]),),
    ).fetchall()  # fmt: skip
    assert rows == [(m, "stale"), (m + 1000, "unknown")]
    assert conn.execute(
        "select state from hookline.outbox where message_id = %s", (m,)
    ).fetchone() == ("sending",)


def test_a_release_and_a_late_complete_of_the_same_messages_never_deadlock(db: str, conn, tenant_source) -> None:  # fmt: skip
    """A runner releases its leases (shutting down) while another runner's late results for the
    same two messages (leased to it before, long expired) arrive, naming them in the other order.
    A third transaction holds the higher message, so the two queue up in a known order: the
    release first, then the complete, which locks the lower message on its way. Both lock by
    id, so the release waits for the complete and nothing deadlocks; a release that locked in
    the order it was given (the higher message first) would hold it while waiting for the
    lower one that the complete holds, and one of them would fail with 40P01."""
    add_senders(conn, ["1065"], "messages_per_second => 10000")
    queue(conn, ["1065"], 2)
    x, y = claimed(conn, "r1", 2)["1065"]
    errors: list[BaseException] = []
    calls: dict[str, Call] = {}
    with psycopg.connect(db) as holder:
        holder.execute("select from hookline.outbox where message_id = %s for update", (y[0],))
        for name, sql, arg in (
            ("release", "select * from hookline.release_messages('r1', %s)",
             Jsonb([{"message_id": m, "lease_token": t} for m, t in (y, x)])),
            ("complete", "select * from hookline.complete_messages(%s)",
             Jsonb([{"message_id": m, "lease_token": "00000000-0000-0000-0000-000000000000",
                     "status_code": 200, "wamid": f"wamid.late.{m}"} for m, _ in (x, y)])),
        ):  # fmt: skip
            calls[name] = Call(db, sql, (arg,), errors)
            wait_blocked(conn, calls[name].pids, name)
        holder.rollback()
    for t in calls.values():
        t.join(timeout=60)
    no_deadlock_nor_error(errors)
    assert sorted(calls["release"].rows) == sorted([(x[0],), (y[0],)])
    assert sorted(r[1] for r in calls["complete"].rows) == ["stale", "stale"]
    assert conn.execute(
        "select count(*) from hookline.outbox where state = 'queued' and wamid is null"
    ).fetchone() == (2,)


def test_resume_sender_and_set_breaker_of_its_breaker_never_deadlock(db: str, conn, tenant_source) -> None:  # fmt: skip
    """set_breaker locks the breaker, then writes its audit row (the audit chain's lock).
    resume_sender updated the sender first, whose audit trigger took the chain's lock, and
    locked the breaker after: with a set_breaker of that breaker between its two steps, each
    waited for the other (40P01, found by benchmarks/outbox_fuzz.py). resume_sender now locks
    the breaker before the update, and set_breaker locks the sender before the breaker (both
    in the lock order). Here a transaction holds the sender and the breaker as set_breaker's
    first steps do, the resume starts and waits, then the transaction calls set_breaker and
    commits, and the resume finishes."""
    add_senders(conn, ["1065"])
    conn.execute("select hookline.set_breaker('sender:1065', 'open', 'test')")
    conn.execute("select hookline.set_breaker('sender:1065', 'auto', 'test')")
    conn.execute("select hookline.pause_sender('1065', 'test')")
    errors: list[BaseException] = []
    with psycopg.connect(db) as holder:
        holder.execute(
            "select from hookline.senders where phone_number_id = '1065' for no key update"
        )
        holder.execute(
            "select from hookline.circuit_breakers where target = 'sender:1065' for update"
        )
        t = Call(db, "select hookline.resume_sender('1065')", (), errors)
        wait_blocked(conn, t.pids, "the resume", "the held sender")
        try:
            holder.execute("select hookline.set_breaker('sender:1065', 'closed', 'test')")
            holder.commit()
        except BaseException as exc:
            errors.append(exc)
        t.join(timeout=60)
    no_deadlock_nor_error(errors)
    assert conn.execute(
        "select s.state::text, b.state::text, b.is_forced from hookline.senders s "
        "join hookline.circuit_breakers b on b.target = 'sender:' || s.phone_number_id"
    ).fetchone() == ("active", "closed", True)


def test_status_webhooks_naming_messages_in_opposite_orders_never_deadlock(db: str, conn, tenant_source) -> None:  # fmt: skip
    """Statuses of a group were applied one at a time in their order, each locking its
    message: a notification reporting on B then A, while another transaction had reported on A
    and then went on to B, waited for A holding B, and the other for B holding A (40P01, found
    by benchmarks/outbox_fuzz.py; complete_messages, which locks by id, deadlocked with it
    alike). The group's messages are now locked by id before any status is applied, so the
    notification waits for A without holding B and both finish."""
    add_senders(conn, ["1065"], "messages_per_second => 10000")
    queue(conn, ["1065"], 2)
    a, b = claimed(conn, "r1", 2)["1065"]
    sent(conn, [a, b])
    errors: list[BaseException] = []
    with psycopg.connect(db) as holder:
        body = notification("1065", [(f"wamid.{a[0]}", "delivered", None)])
        holder.execute(RECEIVE, (body, body))
        group = notification("1065", [(f"wamid.{b[0]}", "delivered", None), (f"wamid.{a[0]}", "read", None)])  # fmt: skip
        t = Call(db, RECEIVE, (group, group), errors)
        wait_blocked(conn, t.pids, "the notification", "message A")
        try:
            body = notification("1065", [(f"wamid.{b[0]}", "read", None)])
            holder.execute(RECEIVE, (body, body))
            holder.commit()
        except BaseException as exc:
            errors.append(exc)
        t.join(timeout=60)
    no_deadlock_nor_error(errors)
    assert conn.execute(
        "select array_agg(state::text order by message_id) from hookline.outbox"
    ).fetchone() == (["read", "read"],)


def test_a_pair_limit_answer_and_a_status_group_of_the_recipients_messages_never_deadlock(db: str, conn, tenant_source) -> None:  # fmt: skip
    """A pair-limit answer (131056) defers the recipient's other queued messages too. That
    update took their locks after the top of complete_messages, outside the lock order: a
    status group (receive) locks its messages by id without their sender (no failed status),
    so one reporting on the recipient's queued message B (a lower id) and the sent one A held
    B while it waited for A, and the complete held A while its deferral waited for B (40P01).
    A transaction holds A, the complete starts, then the status group, so the complete gets A
    first. The deferral now skips a message locked elsewhere (the pair limit still holds it
    back: its recipient's last claim is A's), so the complete finishes and then the group."""
    add_senders(conn, ["1065"], "messages_per_second => 10000, retry_schedule => '{1 h}'")
    # B (the lower id) commits after A was queued and claimed: A is the one in flight, B is
    # queued behind it. (B claimed and failed, then A claimed while B waited for its retry, as
    # this test first did, is no longer possible: a recipient's messages go in id order.)
    send = "select hookline.send_message('acme-wa', '+16505551234', %s, %s)"
    with psycopg.connect(db) as other:
        other.execute(send, (json.dumps(TEXT), "b"))
        conn.execute(send, (json.dumps(TEXT), "a"))
        ((a, a_tok),) = claimed(conn, "r1", 2)["1065"]
        other.commit()
    (b,) = conn.execute("select message_id from hookline.outbox where idempotency_key = 'b'").fetchone()  # fmt: skip
    assert b < a
    errors: list[BaseException] = []
    calls: dict[str, Call] = {}
    group = notification("1065", [(f"wamid.{m}", s, m) for m, s in ((b, "delivered"), (a, "sent"))])
    with psycopg.connect(db) as holder:
        holder.execute("select from hookline.outbox where message_id = %s for update", (a,))
        for name, sql, args in (
            ("complete",
             "select message_id, outcome from hookline.complete_messages(%s, now => now() + interval '3 hours')",
             (Jsonb([{"message_id": a, "lease_token": a_tok, "status_code": 400, "error_code": 131056}]),)),
            ("receive", RECEIVE, (group, group)),
        ):  # fmt: skip
            calls[name] = Call(db, sql, args, errors)
            wait_blocked(conn, calls[name].pids, name)
        holder.rollback()
    for t in calls.values():
        t.join(timeout=60)
    no_deadlock_nor_error(errors)
    assert calls["complete"].rows == [(a, "queued")]
    assert conn.execute(
        "select array_agg(state::text order by message_id) from hookline.outbox"
    ).fetchone() == (["delivered", "sent"],)


@pytest.mark.parametrize("answer", ["complete", "failed status"])
def test_a_pair_limit_answer_defers_a_later_message_locked_elsewhere_so_it_cannot_overtake(db: str, conn, tenant_source, answer: str) -> None:  # fmt: skip
    """A pair-limit answer (131056) for A, of its send or in a failed status, defers the
    recipient's later queued message B with it, so that B follows A. The deferral skipped a B
    locked elsewhere (a status group or a release holding it): B kept its due time, a pair
    interval after A's claim, and an answer 10 s after the claim (A due again 1 s later) left
    B due first: B was claimed before A. complete_messages and the status groups now lock the
    answered recipients' queued messages at their top with their own, sorted: they wait for B
    and defer it with A."""
    add_senders(conn, ["1065"], "messages_per_second => 10000")
    for key in ("a", "b"):
        conn.execute(
            "select hookline.send_message('acme-wa', '+16505551234', %s, %s)",
            (json.dumps(TEXT), key),
        )
    (t0,) = conn.execute("select now()").fetchone()
    # A is claimed; B, held back by the pair limit, is deferred a pair interval.
    rows = conn.execute(
        "select message_id, lease_token::text from hookline.claim_messages('r1', 2, '5 minutes', now => %s)",
        (t0,),
    ).fetchall()
    ((a, a_tok),) = rows
    (b,) = conn.execute(
        "select message_id from hookline.outbox where message_id <> %s", (a,)
    ).fetchone()
    assert a < b
    result = {"message_id": a, "lease_token": a_tok, "status_code": 400, "error_code": 131056}
    if answer == "complete":
        sql, args = "select hookline.complete_messages(%s, now => %s::timestamptz + interval '10 seconds')", (Jsonb([result]), t0)  # fmt: skip
    else:
        conn.execute(
            "select hookline.complete_messages(%s, now => %s)",
            (Jsonb([{"message_id": a, "lease_token": a_tok, "status_code": 200, "wamid": f"wamid.{a}"}]), t0),
        )  # fmt: skip
        body = notification("1065", [(f"wamid.{a}", "failed", None)], code=131056)
        sql = "select * from hookline.receive('acme-wa', %s::jsonb, convert_to(%s, 'UTF8'), received_at => %s::timestamptz + interval '10 seconds')"  # fmt: skip
        args = (body, body, t0)
    errors: list[BaseException] = []
    with psycopg.connect(db) as holder:
        holder.execute("select from hookline.outbox where message_id = %s for update", (b,))
        t = Call(db, sql, args, errors)
        waits_or_ends(conn, t)  # the answer waits for B or (skipping it) is done
        holder.rollback()
    t.join(timeout=60)
    no_deadlock_nor_error(errors)
    assert conn.execute(
        "select state::text, throttle_count from hookline.outbox where message_id = %s", (a,)
    ).fetchone() == ("queued", 1)
    due = dict(
        conn.execute(
            "select message_id, next_attempt_at - %s from hookline.outbox", (t0,)
        ).fetchall()
    )
    assert due[b] >= due[a], f"B due at {due[b]}, before A at {due[a]}"
    claims = [
        [m for (m,) in conn.execute(
            "select message_id from hookline.claim_messages('r1', 2, '5 minutes', "
            "now => %s::timestamptz + %s * interval '1 second') order by 1", (t0, s)).fetchall()]
        for s in (10.5, 11.5, 12.5)
    ]  # fmt: skip
    assert claims == [[], [a], []], "B overtook A, or was sent within a pair interval of it"


def test_a_claim_never_waits_for_a_breaker_whose_sender_a_status_group_holds(db: str, conn, tenant_source) -> None:  # fmt: skip
    """Why claim_messages, which asks a sender's breaker (and locks it to make it half-open)
    after it has leased messages of an earlier sender, cannot deadlock with a status group or
    complete_messages holding that breaker: those lock a breaker only after its sender, and a
    claim reaches a breaker only through its sender's row, which it locks skip locked. A group
    with a failed status of number 2065 holds 2065's sender and its open breaker (cool-down
    over) and waits for a message of 1065 held elsewhere; the claim leases 1065's messages,
    skips 2065 without waiting, and returns. Had the group locked the breaker without the
    sender, the claim would wait for the breaker holding the 1065 message that the group
    waits for next (40P01)."""
    add_senders(conn, ["1065", "2065"], "messages_per_second => 10000")
    # m0 (1065) and m2 (2065) are sent; m1 (1065) and m3 (2065) are queued after them.
    queue(conn, ["1065", "2065"], 2)
    got = claimed(conn, "r0", 2)
    (m0, t0), (m2, t2) = got["1065"][0], got["2065"][0]
    sent(conn, [(m0, t0), (m2, t2)])
    conn.execute(
        "select hookline.send_message('acme-wa', '+16505550001', %s, 'later-' || p, phone_number_id => p) "
        "from unnest(array['1065', '2065']) p",
        (json.dumps(TEXT),),
    )
    # 2065's breaker is open, its cool-down over at the claim's time: the claim would lock it.
    conn.execute("select hookline.set_breaker('sender:2065', 'open', 'test')")
    conn.execute("select hookline.set_breaker('sender:2065', 'auto', 'test')")
    errors: list[BaseException] = []
    (m1,) = conn.execute(
        "select message_id from hookline.outbox where idempotency_key = 'later-1065'"
    ).fetchone()
    assert m0 < m1
    bodies = [notification("1065", [(f"wamid.{m0}", "delivered", None), ("wamid.m1", "sent", m1)]),
              notification("2065", [(f"wamid.{m2}", "failed", None)])]  # fmt: skip
    with psycopg.connect(db) as holder:
        holder.execute("select from hookline.outbox where message_id = %s for update", (m0,))
        group = Call(
            db,
            "select ord, error_code from hookline.receive_many(%s, %s, "
            "array(select convert_to(b, 'UTF8') from unnest(%s::text[]) b), %s::jsonb[])",
            (["acme-wa", "acme-wa"], bodies, bodies, [Jsonb({}), Jsonb({})]),
            errors,
        )
        wait_blocked(conn, group.pids, "the status group")
        claim = Call(
            db,
            "select message_id, phone_number_id from hookline.claim_messages("
            "'r1', 10, '5 minutes', now => now() + interval '1 minute')",
            (),
            errors,
        )
        claim_waited = waits_or_ends(conn, claim)
        holder.rollback()
    for t in (group, claim):
        t.join(timeout=60)
    no_deadlock_nor_error(errors)
    assert not claim_waited, "the claim waited"
    assert claim.rows == [(m1, "1065")]
    assert group.rows == [(1, None), (2, None)]
    assert conn.execute(
        "select array_agg(state::text order by message_id) from hookline.outbox "
        "where message_id = any(%s)",
        ([m0, m1, m2],),
    ).fetchone() == (["delivered", "queued", "sent"],)


def test_a_failed_status_through_two_apps_at_once_counts_once(db: str, conn, tenant_source) -> None:  # fmt: skip
    """Two apps (sources) of the tenant subscribed to one WABA each post the same failed status,
    in two transactions at once. Each stores its own event (keys are per source); the second
    waits for the sender's lock that the first holds, then finds the first's key and leaves
    the message alone: one attempt counted for the status, not two
    (tests/sql/receive/a_failed_status_through_two_sources_of_one_waba_counts_once.test.sql
    has the sequential and grouped cases)."""
    conn.execute(
        "insert into hookline.sources (tenant_id, name, kind, signing_secrets, verify_token) "
        "values ('acme', 'acme-wa2', 'whatsapp', '{other-app-secret}', 'verify-me')"
    )
    add_senders(conn, ["1065"], "retry_schedule => '{1 h, 1 h}'")
    queue(conn, ["1065"], 1)
    ((m, tok),) = claimed(conn, "r1", 1)["1065"]
    sent(conn, [(m, tok)], "wamid.A")
    body = notification("1065", [("wamid.A", "failed", None)])
    receive = "select * from hookline.receive(%s, %s::jsonb, convert_to(%s, 'UTF8'))"
    errors: list[BaseException] = []
    with psycopg.connect(db) as first:
        first.execute(receive, ("acme-wa", body, body))
        t = Call(db, receive, ("acme-wa2", body, body), errors)
        wait_blocked(conn, t.pids, "the second app's status")
        first.commit()
    t.join(timeout=60)
    no_deadlock_nor_error(errors)
    assert conn.execute(
        "select state::text, attempt_count from hookline.outbox where message_id = %s", (m,)
    ).fetchone() == ("queued", 2)
    assert conn.execute(
        "select count(*) from hookline.events where event_type = 'whatsapp.status.failed'"
    ).fetchone() == (2,)


def test_set_breaker_of_a_new_breaker_and_a_complete_creating_it_never_deadlock(db: str, conn, tenant_source) -> None:  # fmt: skip
    """A sender's breaker is created by its first failure (complete_messages, or a failed
    status) or by set_breaker. set_breaker took no sender lock: it created the breaker row,
    then waited for the audit chain's lock to write its audit row, while a complete that held
    the chain's lock (an account error of another number in its batch paused that number, an
    audited update) went on to create the same breaker and waited for set_breaker's row
    (40P01). A transaction holding a new breaker row of the first number keeps the complete
    between the two steps. set_breaker now locks the sender first, as every function touching
    a sender's breaker does, so it waits for the complete, which holds the sender."""
    add_senders(conn, ["1065", "2065"], "messages_per_second => 10000")
    queue(conn, ["1065", "2065"], 2)
    got = claimed(conn, "r1", 2)
    (m1, t1), (m2, t2) = got["1065"][0], got["2065"][0]
    assert m1 < m2
    errors: list[BaseException] = []
    started: list[Call] = []
    with psycopg.connect(db) as holder:
        holder.execute(
            "insert into hookline.circuit_breakers (target, window_started_at, changed_at) "
            "values ('sender:1065', now(), now())"
        )
        # The complete: 1065's account error (190) pauses it (the audit chain's lock), then
        # waits to open 1065's breaker, held here; 2065's failure (500) comes after.
        for what, sql, args in (
            ("the complete", "select hookline.complete_messages(%s)",
             (Jsonb([{"message_id": m1, "lease_token": t1, "status_code": 400, "error_code": 190},
                     {"message_id": m2, "lease_token": t2, "status_code": 500}]),)),
            ("set_breaker", "select hookline.set_breaker('sender:2065', 'open', 'test')", ()),
        ):  # fmt: skip
            started.append(Call(db, sql, args, errors))
            wait_blocked(conn, started[-1].pids, what)
        holder.commit()
    for t in started:
        t.join(timeout=60)
    no_deadlock_nor_error(errors)
    assert conn.execute(
        "select array_agg(state::text || ' ' || is_forced order by target) from hookline.circuit_breakers"
    ).fetchone() == (["open false", "open true"],)


def test_a_claim_leaves_the_numbers_it_does_not_reach_to_a_concurrent_claim(db: str, conn, tenant_source) -> None:  # fmt: skip
    """Two numbers with due messages, the first due first. A claim of 3 fills its rows from the
    first number and, its transaction still open, holds that sender; a second runner's claim
    meanwhile gets the second number's messages: a claim locks a sender when it reaches it,
    not every number with due messages at its start."""
    add_senders(conn, ["1065", "2065"], "messages_per_second => 1000")
    conn.execute(
        "select hookline.send_message('acme-wa', '+1' || (30000000000 + i)::text, %s, "
        "'first-' || i, phone_number_id => '1065') from generate_series(1, 3) i",
        (json.dumps(TEXT),),
    )
    time.sleep(0.01)  # the second number's messages are due later
    conn.execute(
        "select hookline.send_message('acme-wa', '+1' || (31000000000 + i)::text, %s, "
        "'second-' || i, phone_number_id => '2065') from generate_series(1, 3) i",
        (json.dumps(TEXT),),
    )
    with psycopg.connect(db) as first, psycopg.connect(db, autocommit=True) as second:
        held = claimed(first, "r1", 3)  # its transaction stays open
        assert {p: len(m) for p, m in held.items()} == {"1065": 3}
        other = claimed(second, "r2", 3)
        assert {p: len(m) for p, m in other.items()} == {"2065": 3}, (
            "the second claim found the second number locked by a claim that did not reach it"
        )
        first.rollback()
