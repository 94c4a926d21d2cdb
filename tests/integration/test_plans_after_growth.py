"""Plans made while a queue was small still read its indexes after it has grown.

A runner's session plans each statement of complete, claim_messages and complete_messages once
(generic plans are kept until an analyze invalidates them), with the statistics of that moment:
often a queue of a few rows, the life of a healthy queue. An outage's backlog or a burst of
messages then grows the table within autovacuum's naptime, before any analyze. These tests make
the plans on a table of a few analysed rows, grow it to 20,000 rows and read the next call's
plans (auto_explain, as notices): every read of the queue's table is an index scan. With the
planner left to choose, those plans read `deliveries` and `outbox` sequentially (claim's own
case is tests/integration/test_claim_plans.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import psycopg
from psycopg.types.json import Jsonb

SCANS = re.compile(
    r"(Seq Scan|Bitmap Heap Scan|Index Scan|Index Only Scan)(?: using \w+)? on (\w+)"
)
TEXT = json.dumps({"type": "text", "text": {"body": "hi"}})


def plans_of(session: psycopg.Connection, call: Callable[[], object]) -> list[str]:
    """The plans of every statement `call` runs on `session`, nested ones included."""
    session.execute("load 'auto_explain'")
    for setting, value in (("log_min_duration", "0"), ("log_nested_statements", "on"),
                           ("log_level", "notice")):  # fmt: skip
        session.execute(f"set auto_explain.{setting} = {value}")
    plans: list[str] = []
    session.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
    call()
    session.execute("set auto_explain.log_min_duration = -1")
    return plans


def reads_of(plans: list[str], table: str) -> set[str]:
    return {kind for kind, rel in SCANS.findall("\n".join(plans)) if rel == table}


def results(rows: list[tuple]) -> Jsonb:
    """2xx and 5xx in turns: the success path and the retry path both run."""
    return Jsonb([
        {"delivery_id": r[0], "lease_token": str(r[1]), "status_code": 500 if i % 2 else 200}
        for i, r in enumerate(rows)
    ])  # fmt: skip


def test_complete_reads_deliveries_by_key_after_the_queue_grew(db: str, conn, tenant_source) -> None:  # fmt: skip
    conn.execute(
        "select hookline.add_endpoint(tenant => 'acme', name => 'crm', url => 'http://127.0.0.1:9/crm')"
    )
    conn.execute(
        "select hookline.add_subscription(endpoint => 'crm', event_type_pattern => 'test.*')"
    )
    ingest = "select hookline.ingest('acme-wa', %s || i, 'test.event', '{}') from generate_series(1, %s) i"  # fmt: skip
    conn.execute(ingest, ("small-", 6))
    conn.execute("vacuum analyze hookline.deliveries")  # a few rows, and the statistics say so
    with psycopg.connect(db, autocommit=True) as runner:
        rows = runner.execute("select * from hookline.claim('r', 6, '30 seconds')").fetchall()
        runner.execute("select * from hookline.complete(%s)", (results(rows),)).fetchall()
        conn.execute(ingest, ("burst-", 20000))
        rows = runner.execute("select * from hookline.claim('r', 10, '30 seconds')").fetchall()
        assert len(rows) == 10
        answers: list[tuple] = []
        plans = plans_of(
            runner,
            lambda: answers.extend(
                runner.execute("select * from hookline.complete(%s)", (results(rows),)).fetchall()
            ),
        )
    assert sorted(a[1] for a in answers) == ["retrying"] * 5 + ["succeeded"] * 5
    assert reads_of(plans, "deliveries") == {"Index Scan"}, plans
    assert not [p for p in plans if "JIT:" in p]


def test_outbox_functions_read_the_outbox_by_index_after_it_grew(db: str, conn, tenant_source) -> None:  # fmt: skip
    conn.execute(
        "select hookline.add_sender('acme-wa', '1065', 'EAAG-token-1', messages_per_second => 1000)"
    )
    send = (
        "select hookline.send_message('acme-wa', '+1' || (20000000000 + i)::text, %s, %s || i, "
        "phone_number_id => '1065') from generate_series(1, %s) i"
    )

    def sent(rows: list[tuple]) -> Jsonb:
        return Jsonb([
            {"message_id": r[0], "lease_token": str(r[1]), "status_code": 200, "wamid": f"wamid.{r[0]}"}
            for r in rows
        ])  # fmt: skip

    conn.execute(send, (TEXT, "small-", 5))
    conn.execute("vacuum analyze hookline.outbox")
    with psycopg.connect(db, autocommit=True) as runner:
        # More than five calls: the plan cache's custom plans, then the generic ones it keeps.
        for round_ in range(7):
            rows = runner.execute(
                "select * from hookline.claim_messages('r', 5, '30 seconds')"
            ).fetchall()
            runner.execute("select * from hookline.complete_messages(%s)", (sent(rows),)).fetchall()
            conn.execute(send, (TEXT, f"more-{round_}-", 5))
        conn.execute(send, (TEXT, "burst-", 20000))
        claimed: list[tuple] = []
        claim_plans = plans_of(
            runner,
            lambda: claimed.extend(
                runner.execute(
                    "select * from hookline.claim_messages('r', 50, '30 seconds')"
                ).fetchall()
            ),
        )
        assert len(claimed) == 50
        complete_plans = plans_of(
            runner,
            lambda: runner.execute(
                "select * from hookline.complete_messages(%s)", (sent(claimed),)
            ).fetchall(),
        )
    for plans in (claim_plans, complete_plans):
        assert reads_of(plans, "outbox") <= {"Index Scan", "Index Only Scan"}, plans
        assert reads_of(plans, "outbox"), plans
        assert not [p for p in plans if "JIT:" in p]
    assert conn.execute(
        "select count(*) from hookline.outbox where state = 'sent' and message_id = any(%s)",
        ([r[0] for r in claimed],),
    ).fetchone() == (50,)
