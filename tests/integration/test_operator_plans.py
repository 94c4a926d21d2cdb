"""Operators' reads cost what they return, whatever the size of the history (issue 11).

The masked views read SECURITY DEFINER functions the planner cannot see into (docs/security.md,
"Inference through EXPLAIN"), so a `where delivery_id = x` on a view reads and masks every row
of the caller's tenants first. The CLI's reads of one dead letter, its event, its attempts, a
page of the DLQ and a page of the audit log go through the keyed functions instead
(hookline.dead_letter_rows, event_log_rows, attempt_log_rows, audit_trail_page). Each test runs
one of those statements, as `hookline` sends it, on tables that grew to thousands of rows while
their statistics said they were empty (analysed before the rows committed, as autovacuum's
analyze does during a bulk load), and reads every plan it ran (auto_explain, nested statements
included). A FAILURE names the statement and the grown table it read whole (a sequential or
bitmap scan, or an index scan without a condition on the index's first column).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg.types.json import Jsonb

from hookline import queries
from tests.conftest import Server
from tests.helpers import EXPLAIN_AS_NOTICES, ROOT, IndexKeys, plans_as_notices, psql

GROWN = 20000
# Indexes a page walks from one end, stopped by its limit: the audit log newest first.
WALKS = {"audit_log_pkey"}
# A scan of a table, and the condition line under it if any.
SCAN = re.compile(
    r"(Seq Scan|Bitmap Heap Scan|Index Scan|Index Only Scan)(?: Backward)?(?: using (\w+))? "
    r"on (\w+)[^\n]*\n(?:\s+Index Cond: ([^\n]*))?"
)


@dataclass
class Grown:
    dsn: str
    dead: list[int]  # dead letters, in id order
    event: tuple[int, object]  # the first one's event key
    keys: IndexKeys  # each index's first column
    tables: set[str]  # the grown tables (the day's partitions of events and attempts)


@pytest.fixture(scope="module")
def grown(module_db: str) -> Iterator[Grown]:
    """GROWN dead letters of acme (each with its event and an attempt), as many audit rows,
    and statistics that say every table is empty."""
    with psycopg.connect(module_db, autocommit=True) as conn:
        conn.execute(
            "select hookline.add_source('acme', 'acme-wa', 'whatsapp', 'app-secret', "
            "create_tenant => true)"
        )
        conn.execute(
            "select hookline.add_endpoint('acme', 'crm', 'https://handler.invalid/', "
            "max_in_flight => 10000)"
        )
        conn.execute("select hookline.add_subscription('crm', '*')")
        conn.execute(
            "select hookline.add_endpoint('acme', 'erp', 'https://handler.invalid/erp', "
            "max_in_flight => 10000)"
        )
        conn.execute("select hookline.add_subscription('erp', 'whatsapp.message.image')")
        for (table,) in conn.execute(
            "select c.oid::regclass::text from pg_catalog.pg_class c "
            "where c.relnamespace = 'hookline'::regnamespace and c.relkind = 'r'"
        ).fetchall():
            conn.execute(f"alter table {table} set (autovacuum_enabled = off)")
        with psycopg.connect(module_db) as bulk:
            bulk.execute(
                "select hookline.ingest('acme-wa', 'w' || i, 'whatsapp.message.text', "
                '\'{"from": "4915112345678", "text": {"body": "hi"}}\') '
                "from generate_series(1, %s::int) i",
                (GROWN,),
            )
            claim = "select delivery_id, lease_token from hookline.claim('seed', 10000, '1 minute')"
            while rows := bulk.execute(claim).fetchall():
                answers = [{"delivery_id": d, "lease_token": str(t), "status_code": 404} for d, t in rows]  # fmt: skip
                bulk.execute("select count(*) from hookline.complete(%s)", (Jsonb(answers),))
            # A live backlog over two endpoints (crm and erp each take the images), due over
            # the last minutes, 40 rows at each instant (ties, ordered by delivery id).
            bulk.execute(
                "select hookline.ingest('acme-wa', 'i' || i, 'whatsapp.message.image', "
                '\'{"from": "4915112345678"}\') from generate_series(1, %s::int) i',
                (GROWN // 2,),
            )
            bulk.execute(
                "update hookline.deliveries set next_attempt_at = next_attempt_at - (delivery_id % 499) * interval '1 second'"
            )
            bulk.execute(
                "select hookline.set_dead_letter_retention('acme', (i || ' days')::interval) "
                "from generate_series(1, %s::int) i",
                (GROWN,),
            )
            for table in ("dead_letters", "audit_log", "events", "attempts", "deliveries"):
                conn.execute(f"analyze hookline.{table}")
            bulk.commit()
        tables = {r[0] for r in conn.execute(
            "select relname from pg_catalog.pg_class where relnamespace = 'hookline'::regnamespace "
            "and relkind = 'r' and reltuples < 100 and relpages > 0").fetchall()}  # fmt: skip
        # Statistics that say (next to) no rows, over the pages of thousands.
        assert {"dead_letters", "audit_log", "deliveries"} <= tables
        assert {t.split("_p")[0] for t in tables if "_p2" in t} == {"events", "attempts"}
        dead = [r[0] for r in conn.execute(
            "select delivery_id from hookline.dead_letters order by delivery_id").fetchall()]  # fmt: skip
        assert len(dead) == GROWN
        event = conn.execute(
            "select event_id, event_received_at from hookline.dead_letters where delivery_id = %s",
            (dead[0],),
        ).fetchone()
        assert event is not None
        yield Grown(module_db, dead, (event[0], event[1]), IndexKeys(conn), tables)


def explained(grown: Grown, sql: str, params: dict[str, object]) -> tuple[list[tuple], list[str]]:
    """The statement's rows, and every plan it ran (nested ones included)."""
    with psycopg.connect(grown.dsn, autocommit=True) as conn:
        plans = plans_as_notices(conn)
        conn.execute("set auto_explain.log_min_duration = 0")
        return conn.execute(sql, params).fetchall(), plans


def whole_reads(grown: Grown, sql: str, params: dict[str, object]) -> tuple[list[tuple], set[str]]:
    """The statement's rows, and the grown tables its plans (nested ones included) read whole."""
    rows, plans = explained(grown, sql, params)
    whole = set()
    for plan in plans:
        for kind, index, table, cond in SCAN.findall(plan):
            if table not in grown.tables:
                continue
            if kind in ("Seq Scan", "Bitmap Heap Scan"):
                whole.add(f"{kind} on {table}, in:\n{plan}")
            elif index not in WALKS and not grown.keys.bounded(index, cond):
                whole.add(
                    f"{index} on {table} without a condition on its first column, in:\n{plan}"
                )
    return rows, whole


DLQ_FILTERS = {
    "tenant": None, "endpoint": None, "event_type": None, "since": None, "until": None,
    "error_class": None, "state": None, "after": 0, "limit": 50, "replayable": False,
}  # fmt: skip


@pytest.mark.parametrize(
    "filters",
    [{}, {"tenant": "acme"}, {"endpoint": "crm"}, {"event_type": "whatsapp.*"},
     {"state": "dead"}, {"error_class": "http_404"}, {"replayable": True}, {"after": -1}],
    ids=["first page", "tenant", "endpoint", "event type", "state", "error class", "replayable",
         "a later page"],
)  # fmt: skip
def test_a_dlq_page_reads_what_it_returns(grown: Grown, filters: dict[str, object]) -> None:
    if filters.get("after") == -1:
        filters = {"after": grown.dead[GROWN // 2]}
    rows, whole = whole_reads(grown, queries.DLQ_LIST, DLQ_FILTERS | filters)
    assert len(rows) == 50
    assert not whole, f"dlq list {filters}: {sorted(whole)}"


def test_dlq_show_reads_its_dead_letter_event_and_attempts_by_key(grown: Grown) -> None:
    delivery = grown.dead[GROWN // 3]
    rows, whole = whole_reads(grown, queries.DLQ_SHOW, {"id": delivery})
    assert [r[0] for r in rows] == [delivery] and not whole, sorted(whole)
    event_id, received_at = grown.event
    rows, whole = whole_reads(
        grown, queries.DLQ_EVENT, {"event_id": event_id, "received_at": received_at}
    )
    assert len(rows) == 1 and rows[0][0]["text"] == "[text]"  # masked
    assert not whole, sorted(whole)
    rows, whole = whole_reads(grown, queries.DLQ_ATTEMPTS, {"id": delivery})
    assert [(r[3], r[5]) for r in rows] == [(404, "dead")] and not whole, sorted(whole)


@pytest.mark.parametrize("tenant, action", [(None, None), ("acme", "tenants.update")])
def test_an_audit_page_reads_what_it_returns(grown: Grown, tenant: str | None, action: str | None) -> None:  # fmt: skip
    params = {"tenant": tenant, "action": action, "since": None, "limit": 20}
    rows, whole = whole_reads(grown, queries.AUDIT_LIST, params)
    assert len(rows) == 20 and [r[0] for r in rows] == sorted((r[0] for r in rows), reverse=True)
    assert not whole, sorted(whole)


# The masked row functions of history (each masks every row it returns); the views'
# functions are their null-key calls. Endpoints and breakers (endpoint_overview,
# circuit_states) are configuration, as many as the operator made, and stay masked rows.
MASKING = re.compile(
    r"\b(dead_letter_rows|event_log_rows|attempt_log_rows|live_delivery_rows|outbox_message_rows"
    r"|audit_trail_page|_(dead_letter_queue|event_log|attempt_log|live_deliveries|outbox_messages|audit_trail)_rows)\b"
)


def test_stats_counts_without_masking_what_it_counts(grown: Grown) -> None:
    """`hookline stats` counts the caller's rows through the counting functions
    (hookline.live_delivery_totals, dead_letter_totals, attempt_totals): no statement it runs reads
    a masked row function of history (counting through the masked views masked every dead
    letter and every attempt of the hour only to count them)."""
    ((stats,),), plans = explained(grown, queries.STATS, {})
    assert stats["dlq"] == {"dead": GROWN}
    masking = [p for p in plans if MASKING.search(p)]
    assert not masking, masking
    # The hour's attempts are read once for both windows (the last hour's failures, the last 15
    # minutes' rates): two calls of attempt_totals read the last 15 minutes' attempts twice.
    attempt_reads = [p for p in plans if re.search(r"from hookline\.attempts a\b", p)]
    assert len(attempt_reads) == 1, attempt_reads


@pytest.mark.parametrize(
    "script", ["dlq_overview.sql", "throughput_by_hour.sql", "failures_by_endpoint.sql", "outbox_overview.sql"]
)  # fmt: skip
def test_the_sql_overviews_count_without_masking(server: Server, grown: Grown, script: str) -> None:
    """The sql/ overviews that count rows count them through the counting functions; no
    statement they run reads a masked row function of history."""
    settings = [arg for statement in EXPLAIN_AS_NOTICES for arg in ("-c", statement)]
    done = psql(
        server.bindir, grown.dsn, *settings, "-c", "set auto_explain.log_min_duration = 0",
        "-f", str(ROOT / "sql" / script),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Query Text" in done.stderr  # the plans came back
    assert not MASKING.search(done.stderr), done.stderr


PAGE = "select * from hookline.live_delivery_rows(due_by => %(due_by)s, page_size => %(size)s)"


@pytest.mark.parametrize("size", [1, 20, 70])
def test_the_oldest_pending_page_reads_each_endpoints_head(grown: Grown, size: int) -> None:
    """sql/oldest_pending.sql's page (hookline.live_delivery_rows with page_size) reads each
    endpoint's first rows by its (endpoint_id, next_attempt_at) index and merges them: no
    read of every due delivery (a sort of them all took 1 s at 900,000). Its rows are the
    view's first rows by next_attempt_at, ties by delivery id."""
    with psycopg.connect(grown.dsn, autocommit=True) as conn:
        (due_by,) = conn.execute(
            "select max(next_attempt_at) from hookline.deliveries"
        ).fetchone() or (None,)
        everything = conn.execute(
            "select * from hookline.live_deliveries where state <> 'in_flight' and next_attempt_at <= %s"
            " order by next_attempt_at, delivery_id limit %s",
            (due_by, size),
        ).fetchall()
    rows, whole = whole_reads(grown, PAGE, {"due_by": due_by, "size": size})
    assert len(everything) == size and (size == 1 or {r[2] for r in everything} == {"crm", "erp"})
    assert rows == everything
    assert not whole, sorted(whole)


def test_the_dlq_overview_looks_up_no_event_in_a_day_partition(grown: Grown) -> None:
    """sql/dlq_overview.sql's not_replayable (hookline.dead_letter_totals) comes from the
    events' day partitions: a dead letter whose event's day has its partition still has its
    event (only retention removes events, a day at a time), so no event is looked up for it
    (a lookup per dead letter took 1.8 s at 100,000)."""
    with psycopg.connect(grown.dsn, autocommit=True) as conn:
        plans = plans_as_notices(conn)
        conn.execute("set auto_explain.log_analyze = on")
        conn.execute("set auto_explain.log_min_duration = 0")
        counted = conn.execute(
            "select sum(dead_letters)::int, sum(not_replayable)::int from hookline.dead_letter_totals()"
        ).fetchone()
    assert counted == (GROWN, 0)
    looked_up = [
        (table, int(loops))
        for plan in plans
        for table, loops in re.findall(r" on (events_\w+)[^\n]*\(actual [^\n]*loops=(\d+)\)", plan)
    ]
    assert not looked_up, looked_up


@pytest.mark.parametrize(
    "query, params",
    [(queries.DLQ_COUNT, {"limit": None, "replayable": False}),
     (queries.DLQ_CHUNK, {"limit": None, "replayable": True}),
     (queries.DLQ_CHUNK, {"limit": 500, "replayable": True})],
    ids=["dlq replay --dry-run's count", "dlq replay's replayable walk", "a replay chunk"],
)  # fmt: skip
def test_the_dlq_replayable_filter_looks_up_no_event_in_a_day_partition(
    grown: Grown, query: str, params: dict[str, object]
) -> None:
    """hookline.dead_letter_page's replayable filter and has_event (dlq replay's chunks, its
    dry run's count of expired events) follow dead_letter_totals' rule (hookline._event_gone):
    a dead letter whose event's day has its partition still has its event, so no event is
    looked up for it (a lookup per dead letter, or a hash of every event, before)."""
    with psycopg.connect(grown.dsn, autocommit=True) as conn:
        plans = plans_as_notices(conn)
        conn.execute("set auto_explain.log_analyze = on")
        conn.execute("set auto_explain.log_min_duration = 0")
        rows = conn.execute(query, DLQ_FILTERS | params).fetchall()  # type: ignore[arg-type]  # hookline's statements
    if query is queries.DLQ_COUNT:
        assert rows == [(GROWN, 0)]
    else:
        assert [r[0] for r in rows] == grown.dead[: params["limit"] or GROWN]
    looked_up = [
        (table, int(loops))
        for plan in plans
        for table, loops in re.findall(r" on (events_\w+)[^\n]*\(actual [^\n]*loops=(\d+)\)", plan)
    ]
    assert not looked_up, looked_up
