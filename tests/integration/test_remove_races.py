"""Removals racing the calls that add to what they remove. A call that names a source or an
endpoint being removed waits for the removal and then fails with its documented error (HL001,
HL020), never with a foreign key violation (23503); a removal that waits for such a call counts
what it added and refuses (HL045). Each test holds the first call's transaction open, starts
the second, and commits the first once the second waits for it."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from tests.integration.test_outbound_locks import blocked


def race(db: str, conn: psycopg.Connection, first: str, second: str) -> BaseException | None:
    """Runs `first` in a transaction, then `second` in another session until it waits for the
    first, then commits the first; returns what `second` raised."""
    raised: list[BaseException] = []
    pids: list[int] = []

    def run() -> None:
        try:
            with psycopg.connect(db, autocommit=True) as c:
                pids.append(c.info.backend_pid)
                c.execute(second)
        except BaseException as exc:  # reported by the caller
            raised.append(exc)

    with psycopg.connect(db) as holder:
        holder.execute(first)
        t = threading.Thread(target=run)
        t.start()
        for _ in range(500):
            if pids and blocked(conn, pids[0]):
                break
            time.sleep(0.01)
        assert pids and blocked(conn, pids[0]), "the second call did not wait for the first"
        holder.commit()
    t.join(timeout=60)
    return raised[0] if raised else None


@pytest.fixture
def wa(conn: psycopg.Connection) -> None:
    conn.execute(
        "select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret', create_tenant => true)"
    )


def test_add_sender_to_a_source_being_removed_is_unknown_source(db: str, conn, wa) -> None:
    exc = race(db, conn, "select hookline.remove_source('wa')",
               "select hookline.add_sender('wa', '1065', 'EAAG-token-1')")  # fmt: skip
    assert getattr(exc, "sqlstate", None) == "HL001", exc


def test_remove_source_waiting_for_add_sender_is_refused(db: str, conn, wa) -> None:
    exc = race(db, conn, "select hookline.add_sender('wa', '1065', 'EAAG-token-1')",
               "select hookline.remove_source('wa')")  # fmt: skip
    assert getattr(exc, "sqlstate", None) == "HL045", exc
    assert conn.execute("select count(*) from hookline.senders").fetchone() == (1,)


def test_add_subscription_of_a_source_being_removed_is_unknown_source(db: str, conn, wa) -> None:
    conn.execute("select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm')")
    exc = race(db, conn, "select hookline.remove_source('wa')",
               "select hookline.add_subscription('crm', 'whatsapp.*', source => 'wa')")  # fmt: skip
    assert getattr(exc, "sqlstate", None) == "HL001", exc


def test_add_subscription_of_an_endpoint_being_removed_is_unknown_endpoint(
    db: str, conn, wa
) -> None:
    conn.execute("select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm')")
    exc = race(db, conn, "select hookline.remove_endpoint('crm')",
               "select hookline.add_subscription('crm', 'whatsapp.*')")  # fmt: skip
    assert getattr(exc, "sqlstate", None) == "HL020", exc
    assert conn.execute("select count(*) from hookline.subscriptions").fetchone() == (0,)
