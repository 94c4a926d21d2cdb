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
