"""hookline.ingest from many sessions at once: duplicates never become two events."""

from __future__ import annotations

import threading

import psycopg
from psycopg.types.json import Jsonb

from hookline import queries


def test_concurrent_duplicates_create_one_event(db: str, tenant_source: str) -> None:
    sessions = 8
    barrier = threading.Barrier(sessions)
    answers: list[tuple[int, bool]] = []

    def deliver() -> None:
        with psycopg.connect(db) as conn:
            barrier.wait()
            row = conn.execute(
                queries.INGEST,
                {"source": tenant_source, "external_id": "wamid.same", "event_type": "whatsapp.message.text",
                 "payload": Jsonb({"hello": 1}), "occurred_at": None},
            ).fetchone()  # fmt: skip
            answers.append(row)

    threads = [threading.Thread(target=deliver) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(is_new for _id, is_new in answers) == [False] * (sessions - 1) + [True]
    assert len({event_id for event_id, _ in answers}) == 1
    with psycopg.connect(db) as conn:
        assert conn.execute("select count(*) from hookline.events").fetchone() == (1,)


def test_a_rolled_back_ingest_leaves_no_key(db: str, tenant_source: str) -> None:
    params = {"source": tenant_source, "external_id": "wamid.rb", "event_type": "whatsapp.message.text",
              "payload": Jsonb({}), "occurred_at": None}  # fmt: skip
    with psycopg.connect(db) as conn:
        assert conn.execute(queries.INGEST, params).fetchone()[1] is True
        conn.rollback()
        assert conn.execute(queries.INGEST, params).fetchone()[1] is True, (
            "a retried POST is stored"
        )


def test_concurrent_batches_sharing_keys_in_opposite_orders_store_each_key_once(
    db: str, tenant_source: str
) -> None:
    """ingest_many from sessions whose batches name the same keys, some in reverse order: no
    deadlock (keys are taken in key order whatever the batch's), one event per key, and every
    row of every batch answered with that key's event."""
    keys = [f"wamid.k{i:03}" for i in range(200)]
    sessions = 6
    barrier = threading.Barrier(sessions)
    answers: list[list[tuple[str, int, bool]]] = []  # per batch: (key of the row's ord, event, new)
    errors: list[BaseException] = []

    def batch(n: int) -> None:
        ids = keys if n % 2 == 0 else keys[::-1]
        try:
            with psycopg.connect(db) as conn:
                barrier.wait()
                rows = conn.execute(
                    "select ord, event_id, is_new from hookline.ingest_many(source => %s, "
                    "external_ids => %s, event_types => array_fill('whatsapp.message.text'::text, "
                    "array[%s]), payloads => array_fill('{}'::jsonb, array[%s]))",
                    (tenant_source, ids, len(ids), len(ids)),
                ).fetchall()
                answers.append([(ids[r[0] - 1], r[1], r[2]) for r in rows])
        except BaseException as exc:  # a 40P01 shows here
            errors.append(exc)

    threads = [threading.Thread(target=batch, args=(n,)) for n in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    with psycopg.connect(db) as conn:
        stored = dict(conn.execute(
            "select external_id, event_id from hookline.event_keys where external_id like 'wamid.k%'"
        ).fetchall())  # fmt: skip
    assert sorted(stored) == keys, "one key row per key"
    assert sum(1 for rows in answers for _k, _e, is_new in rows if is_new) == len(keys), (
        "each key new in exactly one batch"
    )
    for rows in answers:
        assert len(rows) == len(keys)
        assert all(stored[key] == event for key, event, _n in rows), "each row its key's event"
