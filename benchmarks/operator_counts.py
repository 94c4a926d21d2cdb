"""What operators' counts and overviews cost at a big backlog, against the same reads as
v0.13 ran them (through the masked views) and one read of the table, in the same run.

    python benchmarks/operator_counts.py "$SCRATCH_DSN" [sizes] [repeats]

sizes: events, comma-separated (default 100000,1000000); repeats: runs of each read
(median, default 3). Deploys the schema into a database you can throw away and, per size,
empties it and makes that many events for tenant `bench` (one delivery each, over 20
endpoints, through hookline.ingest), moves a tenth of them to the DLQ (answered 404), and
writes a third as many attempts of the last 50 minutes (a fifth of them failed). A login role
(`bench_counts_login`, created if missing, left in place) is mapped to `bench`, and every read
runs as it, as an operator would: `hookline stats`, `hookline endpoints show NAME`, and the
sql/ files' statements. Baseline: `select state, count(*) from hookline.deliveries group by
state` as the owner, one read of the table; each line prints its median and its ratio to it.
The deliveries' next_attempt_at is spread over the last hour (as webhooks arriving over an hour
leave them; one statement's ingest would give them all one instant). The reads that
view_operator_bounded_reads changed (sql/oldest_pending.sql, sql/dlq_overview.sql) also run
through the functions as view_operator_counts made them (copied into schema bench_prev from
that migration), in the same run; the load average is printed before and after each size.
"""

from __future__ import annotations

import os
import re
import secrets
import statistics
import sys
import time
from pathlib import Path

import psycopg
from bench_common import deploy
from psycopg.conninfo import make_conninfo

from hookline import queries

ROOT = Path(__file__).resolve().parent.parent

# v0.13's statements: counts over the masked views (each masks every row it returns).
V013_STATS = """
select pg_catalog.jsonb_build_object(
  'queue', (select coalesce(jsonb_object_agg(s.state, s.n), '{}') from
            (select d.state, count(*) as n from hookline.live_deliveries d group by d.state) s),
  'dlq', (select coalesce(jsonb_object_agg(s.state, s.n), '{}') from
          (select q.state, count(*) as n from hookline.dead_letter_queue q group by q.state) s),
  'oldest_due_at', (select min(d.next_attempt_at) from hookline.live_deliveries d
                    where d.state <> 'in_flight' and d.next_attempt_at <= now()),
  'deliveries_per_minute', (select round(count(*) filter (where a.outcome = 'succeeded') / 15.0, 2)
                            from hookline.attempt_log_rows(since => now() - interval '15 minutes') a),
  'attempts_per_minute', (select round(count(*) / 15.0, 2)
                          from hookline.attempt_log_rows(since => now() - interval '15 minutes') a),
  'top_failing_endpoints', (select coalesce(jsonb_agg(t order by t.failures_last_hour desc, t.endpoint), '[]') from (
      select e.name as endpoint, e.tenant_id as tenant, e.state,
        count(*) filter (where a.outcome in ('retrying', 'dead')) as failures_last_hour,
        e.dead_letters
      from hookline.attempt_log_rows(since => now() - interval '1 hour') a
      join hookline.endpoint_overview e on e.endpoint_id = a.endpoint_id
      group by e.name, e.tenant_id, e.state, e.dead_letters
      having count(*) filter (where a.outcome in ('retrying', 'dead')) > 0
      order by 4 desc, 1
      limit 5) t),
  'stale_jobs', (select coalesce(jsonb_agg(s), '[]') from hookline.stale_jobs() s),
  'undelivered_alerts', (select coalesce(jsonb_object_agg(g.labels->>'receiver', g.value::bigint), '{}')
                         from hookline.metric_gauges() g
                         where g.metric = 'hookline_alert_notifications_undelivered' and g.value > 0),
  'circuits', (select coalesce(jsonb_object_agg(c.state, c.n), '{}') from
               (select b.state, count(*) as n from hookline.circuit_states b group by b.state) c)
)
"""

V013_ENDPOINTS = """
select e.endpoint_id as id, e.name, e.tenant_id as tenant, e.url, e.state, e.paused_reason,
  e.timeout_ms, e.max_in_flight,
  e.retry_schedule, e.is_retrying_client_errors, e.live_deliveries, e.dead_letters
from hookline.endpoint_overview e
where %(name)s::text is null or e.name = %(name)s::text
order by e.name
"""

V013_SQL = {
    "sql/dlq_overview.sql": """
select q.tenant_id, q.endpoint, q.state, q.error_class, count(*) as deliveries,
  min(q.finished_at) as oldest, max(q.finished_at) as newest,
  count(*) filter (where q.event_type is null) as not_replayable
from hookline.dead_letter_queue q
group by q.tenant_id, q.endpoint, q.state, q.error_class
order by deliveries desc, q.tenant_id, q.endpoint""",
    "sql/throughput_by_hour.sql": """
select date_trunc('hour', a.attempted_at) as hour,
  count(*) filter (where a.outcome = 'succeeded') as succeeded,
  count(*) filter (where a.outcome = 'retrying') as retrying,
  count(*) filter (where a.outcome = 'dead') as dead,
  count(*) filter (where a.outcome = 'stale') as stale,
  round(avg(a.duration_ms)) as avg_ms
from hookline.attempt_log_rows(since => now() - make_interval(hours => 24)) a
group by 1 order by 1""",
    "sql/oldest_pending.sql": """
select d.delivery_id, d.tenant_id, d.endpoint, d.state, d.attempt_count, d.next_attempt_at,
  now() - d.next_attempt_at as overdue_by, d.created_at
from hookline.live_deliveries d
where d.state <> 'in_flight' and d.next_attempt_at <= now()
order by d.next_attempt_at
limit 20""",
}


# view_operator_counts' versions of the functions view_operator_bounded_reads replaced.
PREV_FUNCTIONS = ("live_delivery_rows", "dead_letter_totals")
PREV_SQL = {
    "sql/oldest_pending.sql": """
select d.delivery_id, d.tenant_id, d.endpoint, d.state, d.attempt_count, d.next_attempt_at,
  now() - d.next_attempt_at as overdue_by, d.created_at
from bench_prev.live_delivery_rows(of_tenant => nullif('', ''), due_by => now(),
  page_size => '20'::integer) d
order by d.next_attempt_at, d.delivery_id""",
    "sql/dlq_overview.sql": """
select q.tenant_id, q.endpoint, q.state, q.error_class, q.dead_letters as deliveries,
  q.oldest, q.newest, q.not_replayable
from bench_prev.dead_letter_totals() q
where '' = '' or q.tenant_id = ''
order by deliveries desc, q.tenant_id, q.endpoint""",
}


def make_prev(conn: psycopg.Connection, role: str) -> None:
    """Schema bench_prev: view_operator_counts' definitions of PREV_FUNCTIONS, as the owner."""
    text = (ROOT / "migrations/deploy/view_operator_counts.sql").read_text()
    conn.execute("create schema if not exists bench_prev")
    for name in PREV_FUNCTIONS:
        found = re.search(rf"create function hookline\.{name}\(.*?\n\$\$;\n", text, re.S)
        assert found, name
        body = found.group(0).replace(
            f"create function hookline.{name}(", f"create or replace function bench_prev.{name}(", 1
        )
        conn.execute(body)  # type: ignore[arg-type]  # a migration's text
    conn.execute(f"grant usage on schema bench_prev to {role}")  # type: ignore[arg-type]
    conn.execute(f"grant execute on all functions in schema bench_prev to {role}")  # type: ignore[arg-type]


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def sql_file(name: str) -> str:
    """The file's first statement, its psql variables at their defaults."""
    text = "\n".join(
        line for line in (ROOT / name).read_text().splitlines()
        if not line.startswith(("--", "\\"))
    )  # fmt: skip
    statement = text.split(";")[0]
    for var, value in ((":'tenant'", "''"), (":'hours'", "'24'"), (":'limit'", "'20'")):
        statement = statement.replace(var, value)
    return statement


def median_ms(conn: psycopg.Connection, sql: str, params: dict[str, object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        conn.execute(sql, params).fetchall()  # type: ignore[arg-type]  # statements of this file
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def make(conn: psycopg.Connection, live: int) -> None:
    conn.execute(
        "delete from hookline.dead_letters; delete from hookline.deliveries; "
        "delete from hookline.subscriptions; delete from hookline.endpoints; delete from hookline.sources; "
        "delete from hookline.role_tenants; delete from hookline.tenants; delete from hookline.event_keys"
    )
    conn.execute("truncate hookline.events, hookline.attempts")
    conn.execute(
        "select hookline.add_source('bench', 'bench', 'whatsapp', 's', create_tenant => true)"
    )
    conn.execute(
        "select hookline.add_endpoint('bench', 'bench-' || i, 'https://handler.invalid/' || i, "
        "max_in_flight => 10000) from generate_series(1, 20) i"
    )
    conn.execute("select hookline.add_subscription('bench-' || i, 'whatsapp.t' || i) from generate_series(1, 20) i")  # fmt: skip
    conn.execute(
        "select count(*) from generate_series(1, %s::int) i, lateral hookline.ingest('bench', 'w' || i, "
        '\'whatsapp.t\' || (i %% 20 + 1), \'{"from": "4915112345678", "text": {"body": "hi"}}\') x',
        (live,),
    )
    conn.execute(
        """with moved as (delete from hookline.deliveries d where d.delivery_id in (
             select delivery_id from hookline.deliveries order by delivery_id limit %s) returning d.*)
           insert into hookline.dead_letters (delivery_id, endpoint_id, event_id, event_received_at,
             created_at, finished_at, last_status_code, attempt_count, generation, state, tenant_id, reason)
           select m.delivery_id, m.endpoint_id, m.event_id, m.event_received_at, m.created_at,
             now(), 404, 1, m.generation, 'dead', m.tenant_id, 'permanent: http 404' from moved m""",
        (live // 10,),
    )
    conn.execute(
        "update hookline.deliveries set next_attempt_at = next_attempt_at"
        " - (delivery_id % 3600) * interval '1 second'"
    )
    conn.execute(
        """insert into hookline.attempts (attempted_at, delivery_id, endpoint_id, tenant_id, generation,
             attempt_number, status_code, duration_ms, outcome, error_class, response_excerpt)
           select now() - (i %% 3000) * interval '1 second', i,
             (select min(endpoint_id) from hookline.endpoints) + i %% 20, 'bench', 1, 1,
             case when i %% 5 = 0 then 500 else 200 end, 20,
             case when i %% 5 = 0 then 'retrying' else 'succeeded' end, null,
             case when i %% 5 = 0 then 'error' else 'ok' end
           from generate_series(1, %s::int) i""",
        (live // 3,),
    )
    conn.execute("vacuum analyze")


def run_size(dsn: str, live: int, repeats: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        t = time.perf_counter()
        make(conn, live)
        print(f"\n{live:,} events: {live - live // 10:,} live deliveries, {live // 10:,} dead letters,"
              f" {live // 3:,} attempts"
              f" (setup {time.perf_counter() - t:.0f} s); {load()}", flush=True)  # fmt: skip
        password = secrets.token_urlsafe(16)
        conn.execute("""do $$ begin
            if not exists (select from pg_roles where rolname = 'bench_counts_login') then
              create role bench_counts_login login in role hookline_operator;
            end if; end $$""")
        conn.execute(f"alter role bench_counts_login password '{password}'")  # a fresh token
        conn.execute("select hookline.grant_tenant('bench_counts_login', 'bench')")
        make_prev(conn, "bench_counts_login")
        base = median_ms(
            conn, "select state, count(*) from hookline.deliveries group by state", {}, repeats
        )
    print(f"{'baseline: deliveries counted by state (owner, the table)':<60} {base:9.1f} ms   1.0x")
    op = make_conninfo(dsn, user="bench_counts_login", password=password)
    reads = [
        ("hookline stats", queries.STATS, V013_STATS, {}),
        ("hookline endpoints show bench-1", queries.ENDPOINTS, V013_ENDPOINTS, {"name": "bench-1"}),
        *((name, sql_file(name), old, {}) for name, old in V013_SQL.items()),
    ]
    with psycopg.connect(op, autocommit=True) as conn:
        for label, now, before, params in reads:
            new_ms = median_ms(conn, now, params, repeats)
            old_ms = median_ms(conn, before, params, repeats)
            line = (f"{label:<60} {new_ms:9.1f} ms {new_ms / base:5.1f}x   as v0.13: {old_ms:9.1f} ms"
                    f" {old_ms / base:6.1f}x   ({old_ms / new_ms:.1f} times faster)")  # fmt: skip
            if label in PREV_SQL:
                prev = PREV_SQL[label]
                with conn.transaction():  # one now() for both
                    same = conn.execute(now).fetchall() == conn.execute(prev).fetchall()  # type: ignore[arg-type]
                prev_ms = median_ms(conn, prev, params, repeats)
                line += (f"   as view_operator_counts: {prev_ms:9.1f} ms {prev_ms / base:6.1f}x"
                         f" ({prev_ms / new_ms:.1f} times faster; same rows: {same})")  # fmt: skip
            print(line, flush=True)
    print(load(), flush=True)


def main() -> None:
    dsn = sys.argv[1]
    sizes = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "100000,1000000").split(",")]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    deploy(dsn)
    for live in sizes:
        run_size(dsn, live, repeats)


if __name__ == "__main__":
    main()
