"""The outbox's lock order under concurrency: completes whose batches mix two numbers in
opposite orders, with failures that feed both numbers' breakers and throttles, while claims
run. Every function takes senders, then breakers, then messages, each sorted (docs/outbound.md),
so no deadlock (40P01) may occur."""

from __future__ import annotations

import json
import threading

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


def test_completes_mixing_numbers_in_opposite_orders_never_deadlock(db: str, conn, tenant_source) -> None:  # fmt: skip
    for pnid in ("1065", "2065"):
        conn.execute(
            "select hookline.add_sender('acme-wa', %s, 'EAAG-token-1', "
            "messages_per_second => 10000, retry_schedule => '{1 h}')",
            (pnid,),
        )
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
    deadlocks = [e for e in errors if isinstance(e, psycopg.errors.DeadlockDetected)]
    assert not deadlocks, f"{len(deadlocks)} deadlocks: {deadlocks[0]}"
    assert not errors, errors[0]
    # Every failed send was recorded once: queued for its retry in an hour, one attempt each.
    failed = conn.execute(
        "select count(*), min(attempt_count), max(attempt_count) from hookline.outbox "
        "where state = 'queued' and attempt_count > 0"
    ).fetchone()
    assert failed == (ROUNDS * 4, 1, 1)
    assert a[0][0] + 1 == b[0][0], "the numbers' message ids interleave"


@pytest.mark.parametrize("status_code", [200, 500])
def test_a_result_for_no_such_message_is_unknown_and_a_late_one_stale(conn, tenant_source, status_code: int) -> None:  # fmt: skip
    conn.execute("select hookline.add_sender('acme-wa', '1065', 'EAAG-token-1')")
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
