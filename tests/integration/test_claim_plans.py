"""claim's plans: made once per session (generic from the first call), they must read the
indexes even when that first call found the queue empty (docs/delivery.md, "The hot table,
claim and complete")."""

from __future__ import annotations

import psycopg


def test_plans_made_on_an_empty_queue_read_the_indexes_later(db: str, conn, tenant_source) -> None:  # fmt: skip
    conn.execute(
        "select hookline.add_endpoint(tenant => 'acme', name => 'crm', url => 'http://127.0.0.1:9/crm')"
    )
    conn.execute(
        "select hookline.add_subscription(endpoint => 'crm', event_type_pattern => 'test.*')"
    )
    conn.execute("vacuum analyze hookline.deliveries")  # empty, and the statistics say so
    with psycopg.connect(db, autocommit=True) as runner:
        assert (
            runner.execute("select * from hookline.claim('r', 10, '30 seconds')").fetchall() == []
        )
        conn.execute(
            "select hookline.ingest('acme-wa', 'e-' || i, 'test.event', '{}') "
            "from generate_series(1, 3000) i"
        )
        runner.execute("load 'auto_explain'")
        for setting, value in (("log_min_duration", "0"), ("log_nested_statements", "on"),
                               ("log_level", "notice")):  # fmt: skip
            runner.execute(f"set auto_explain.{setting} = {value}")
        plans: list[str] = []
        runner.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
        claimed = runner.execute("select * from hookline.claim('r', 10, '30 seconds')").fetchall()
    assert len(claimed) == 10
    reads = [p for p in plans if "on deliveries" in p]
    assert len(reads) >= 3, plans  # the probe, the lease count, the claim statement
    assert not [
        p for p in reads if "Seq Scan on deliveries" in p or "Bitmap Heap Scan on deliveries" in p
    ]
    assert not [p for p in plans if "JIT:" in p]
