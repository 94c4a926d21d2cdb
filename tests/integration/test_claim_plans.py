"""claim's plans: made once per session (generic from the first call), they must read the
indexes even when that first call found the queue empty (docs/delivery.md, "The hot table,
claim and complete")."""

from __future__ import annotations

import re

import psycopg

from tests.helpers import plans_as_notices

# A scan node of a plan: its kind and its index.
SCAN = r"((?:Index Only |Index |Tid |Seq |Bitmap Heap )Scan)(?: using (\w+))?"


def explained_claim(runner: psycopg.Connection) -> tuple[list[tuple], list[str]]:
    """A claim of 10 on the runner's session, and the plans of every statement it ran."""
    plans = plans_as_notices(runner)
    runner.execute("set auto_explain.log_min_duration = 0")
    claimed = runner.execute("select * from hookline.claim('r', 10, '30 seconds')").fetchall()
    return claimed, plans


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
        claimed, plans = explained_claim(runner)
    assert len(claimed) == 10
    reads = [p for p in plans if "on deliveries" in p]
    assert len(reads) >= 3, plans  # the probe, the lease count, the claim statement
    assert not [
        p for p in reads if "Seq Scan on deliveries" in p or "Bitmap Heap Scan on deliveries" in p
    ]
    assert not [p for p in plans if "JIT:" in p]


def test_plans_made_while_the_statistics_say_empty_read_events_by_key(db: str, conn, tenant_source) -> None:  # fmt: skip
    """An ANALYZE that runs while a partition's rows are not yet committed records it as empty
    (reltuples 0 over its pages), and every index scan of it then looks as cheap as any other:
    claim's generic plan must still read each claimed row's event by its key, the only index
    of events the lookup can use (migration index_events_drop_source_received_at)."""
    conn.execute(
        "select hookline.add_endpoint(tenant => 'acme', name => 'crm', url => 'http://127.0.0.1:9/crm')"
    )
    conn.execute(
        "select hookline.add_subscription(endpoint => 'crm', event_type_pattern => 'test.*')"
    )
    with psycopg.connect(db) as bulk:
        bulk.execute(
            "select hookline.ingest('acme-wa', 'e-' || i, 'test.event', '{}') "
            "from generate_series(1, 3000) i"
        )
        conn.execute("analyze hookline.events")
        conn.execute("analyze hookline.deliveries")
        bulk.commit()
    empty = conn.execute(
        "select count(*) from pg_catalog.pg_class c join pg_catalog.pg_inherits i on i.inhrelid = c.oid "
        "where i.inhparent = 'hookline.events'::regclass and c.reltuples = 0 and c.relpages > 0"
    ).fetchone()
    assert empty == (1,)  # the day's partition: pages, and statistics that say no rows
    with psycopg.connect(db, autocommit=True) as runner:
        claimed, plans = explained_claim(runner)
    assert len(claimed) == 10
    event_reads = re.findall(SCAN + r" on (events_\w+)", "\n".join(plans))
    assert event_reads  # the lookup, in every partition run-time pruning may keep
    assert {(kind, index.removeprefix(table)) for kind, index, table in event_reads} == {
        ("Index Scan", "_pkey")
    }, event_reads
    # Each read of deliveries through the index made for it: the due ranges, the lease counts
    # (the partial indexes), the claimed rows by the version picked.
    delivery_reads = set(re.findall(SCAN + r" on deliveries\b", "\n".join(plans)))
    assert delivery_reads <= {
        ("Index Only Scan", "deliveries_endpoint_id_next_attempt_at_idx"),
        ("Index Scan", "deliveries_endpoint_id_next_attempt_at_idx"),
        ("Index Scan", "deliveries_lease_order_idx"),
        ("Index Scan", "deliveries_in_flight_idx"),
        ("Index Only Scan", "deliveries_in_flight_idx"),
        ("Tid Scan", ""),
    }, delivery_reads


def test_claim_and_next_due_read_only_the_active_endpoints(db: str, conn, tenant_source) -> None:  # fmt: skip
    """Paused and disabled endpoints cost a claim nothing: the endpoints' read goes through the
    partial index of active ones (migration index_endpoints_active), not every endpoint row."""
    conn.execute(
        "select hookline.add_endpoint(tenant => 'acme', name => 'idle' || i, url => 'http://127.0.0.1:9/i') "
        "from generate_series(1, 200) i"
    )
    conn.execute("update hookline.endpoints set state = 'paused', paused_reason = 'test'")
    conn.execute(
        "select hookline.add_endpoint(tenant => 'acme', name => 'crm', url => 'http://127.0.0.1:9/crm')"
    )
    conn.execute(
        "select hookline.add_subscription(endpoint => 'crm', event_type_pattern => 'test.*')"
    )
    conn.execute(
        "select hookline.ingest('acme-wa', 'e-' || i, 'test.event', '{}') from generate_series(1, 20) i"
    )
    conn.execute("analyze hookline.endpoints")
    with psycopg.connect(db, autocommit=True) as runner:
        claimed, plans = explained_claim(runner)
        runner.execute("select hookline.next_due()")
    assert len(claimed) == 10
    endpoint_reads = set(re.findall(SCAN + r" on endpoints\b", "\n".join(plans)))
    assert ("Index Scan", "endpoints_active_idx") in endpoint_reads, plans
    assert endpoint_reads <= {
        ("Index Scan", "endpoints_active_idx"),
        ("Index Scan", "endpoints_pkey"),
    }, endpoint_reads
    next_due_plans = [p for p in plans if "hookline.endpoints e\n  cross join lateral" in p]
    assert next_due_plans and all("endpoints_active_idx" in p for p in next_due_plans), plans
