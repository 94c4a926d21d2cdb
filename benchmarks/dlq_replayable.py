"""What `hookline dlq replay` reads to tell a replayable dead letter, at 100,000 dead letters,
against dead_letter_page as the fourteenth pass left it (a lookup of each dead letter's
event), in the same run.

    python benchmarks/dlq_replayable.py "$SCRATCH_DSN" [dead] [repeats]

dead: dead letters (default 100,000); repeats: runs of each read (median, default 3). Deploys
the schema into a database you can throw away, empties it (so it runs again on the same
database), and makes `dead` events of tenant `bench` through hookline.ingest, 98 % of them
received today (in their day partition), 1 % 40 days ago (no day partition: in
events_default) and 1 % on a day whose partition is then dropped (their events gone, as
retention leaves them), each moved to the dead-letter queue. Then, as the owner, each read
through hookline.dead_letter_page and through the previous definition (copied into schema
bench_prev): `dlq replay --all --dry-run`'s count (whether each matching dead letter still has
its event), the replayable walk of the whole queue that `dlq replay --all` reads in chunks, and
its first chunk of 500; and sql/dlq_overview.sql's counts (hookline.dead_letter_totals, against
view_operator_bounded_reads' definition). Each line prints both medians, their ratio and whether the rows are
the same.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

import psycopg
from bench_common import deploy

from hookline import queries

ROOT = Path(__file__).resolve().parent.parent

# hookline.dead_letter_page before function_event_gone: each candidate's event looked up.
PREV_PAGE = r"""
create or replace function bench_prev.dead_letter_page(
  tenant text default null, endpoint text default null, event_type text default null,
  since timestamptz default null, until timestamptz default null, error_class text default null,
  state text default null, after bigint default 0, page_size integer default 50,
  replayable boolean default false
)
returns table (delivery_id bigint, has_event boolean)
language plpgsql stable security definer set search_path = ''
as $$
declare
  v_like text := pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(
    dead_letter_page.event_type, '\', '\\'), '%', '\%'), '_', '\_'), '*', '%');
begin
  return query
  select p.delivery_id, exists (
    select from hookline.events x where x.event_id = p.event_id and x.received_at = p.event_received_at)
  from (
    select l.delivery_id, l.event_id, l.event_received_at
    from hookline.dead_letters l
    where ((select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[]))
      and l.delivery_id > dead_letter_page.after
      and (dead_letter_page.tenant is null or l.tenant_id = dead_letter_page.tenant)
      and (dead_letter_page.endpoint is null or l.endpoint_id in (
        select e.endpoint_id from hookline.endpoints e where e.name = dead_letter_page.endpoint))
      and (dead_letter_page.state is null or l.state::text = dead_letter_page.state)
      and (dead_letter_page.since is null or l.finished_at >= dead_letter_page.since)
      and (dead_letter_page.until is null or l.finished_at < dead_letter_page.until)
      and (dead_letter_page.error_class is null
           or case when l.state = 'discarded' then 'discarded' else coalesce(l.error_class, 'unknown') end
              = dead_letter_page.error_class)
      and (dead_letter_page.event_type is null or exists (
        select from hookline.events x
        where x.event_id = l.event_id and x.received_at = l.event_received_at and x.event_type like v_like))
      and (not dead_letter_page.replayable or exists (
        select from hookline.events x where x.event_id = l.event_id and x.received_at = l.event_received_at))
    order by l.delivery_id
    limit dead_letter_page.page_size
  ) p
  order by p.delivery_id;
end
$$
"""

FILTERS = {
    "tenant": None, "endpoint": None, "event_type": None, "since": None, "until": None,
    "error_class": None, "state": None, "after": 0,
}  # fmt: skip

READS = [
    ("dlq replay --all --dry-run (DLQ_COUNT)", queries.DLQ_COUNT, {"limit": None, "replayable": False}),
    ("dlq replay --all: the replayable walk, every chunk", queries.DLQ_CHUNK, {"limit": None, "replayable": True}),
    ("dlq replay --all: its first chunk of 500", queries.DLQ_CHUNK, {"limit": 500, "replayable": True}),
    ("sql/dlq_overview.sql's counts (dead_letter_totals)", "select * from hookline.dead_letter_totals()", {}),
]  # fmt: skip


def make_prev(conn: psycopg.Connection) -> None:
    """Schema bench_prev: dead_letter_page before function_event_gone (PREV_PAGE), and
    dead_letter_totals as view_operator_bounded_reads made it."""
    conn.execute("create schema if not exists bench_prev")
    conn.execute(PREV_PAGE)  # type: ignore[arg-type]  # this file's text
    text = (ROOT / "migrations/deploy/view_operator_bounded_reads.sql").read_text()
    found = re.search(
        r"create or replace function hookline\.dead_letter_totals\(.*?\n\$\$;\n", text, re.S
    )
    assert found
    conn.execute(
        found.group(0).replace("hookline.dead_letter_totals(", "bench_prev.dead_letter_totals(", 1)
    )  # type: ignore[arg-type]


def make(conn: psycopg.Connection, dead: int) -> None:
    conn.execute(
        "delete from hookline.dead_letters; delete from hookline.deliveries; "
        "delete from hookline.subscriptions; delete from hookline.endpoints; delete from hookline.sources; "
        "delete from hookline.role_tenants; delete from hookline.tenants; delete from hookline.event_keys"
    )
    conn.execute("truncate hookline.events, hookline.attempts")
    conn.execute(
        "select hookline.add_source('bench', 'bench', 'whatsapp', 's', create_tenant => true)"
    )
    conn.execute("select hookline.add_endpoint('bench', 'bench', 'https://handler.invalid/', max_in_flight => 10000)")  # fmt: skip
    conn.execute("select hookline.add_subscription('bench', '*')")
    conn.execute(
        "select hookline.premake_partitions((current_date - 20)::timestamp at time zone 'UTC')"
    )
    conn.execute(
        "select count(*) from generate_series(1, %s::int) i, lateral hookline.ingest('bench', 'w' || i, "
        "'whatsapp.message.text', '{\"from\": \"4915112345678\"}', null, case i %% 100"
        "  when 0 then now() - interval '40 days'"
        "  when 1 then (current_date - 20)::timestamp at time zone 'UTC' + interval '6 hours' else now() end) x",
        (dead,),
    )
    conn.execute(
        """with moved as (delete from hookline.deliveries d returning d.*)
           insert into hookline.dead_letters (delivery_id, endpoint_id, event_id, event_received_at,
             created_at, finished_at, last_status_code, attempt_count, generation, state, tenant_id, reason)
           select m.delivery_id, m.endpoint_id, m.event_id, m.event_received_at, m.created_at,
             now(), 404, 1, m.generation, 'dead', m.tenant_id, 'permanent: http 404' from moved m"""
    )
    conn.execute("select hookline._drop_partition('events', current_date - 20)")
    conn.execute("vacuum analyze")


def median_ms(
    conn: psycopg.Connection, sql: str, params: dict[str, object], repeats: int
) -> tuple[float, list]:
    times, rows = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        rows = conn.execute(sql, params).fetchall()  # type: ignore[arg-type]  # statements of this file
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), rows


def main() -> None:
    dsn = sys.argv[1]
    dead = int(sys.argv[2]) if len(sys.argv) > 2 else 100000
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    deploy(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        t = time.perf_counter()
        make(conn, dead)
        make_prev(conn)
        counts = conn.execute(
            "select count(*), count(*) filter (where not exists (select from hookline.events x"
            " where x.event_id = l.event_id and x.received_at = l.event_received_at)) from hookline.dead_letters l"
        ).fetchone()
        assert counts is not None
        print(f"{counts[0]:,} dead letters, {counts[1]:,} of them with their event gone"
              f" (setup {time.perf_counter() - t:.0f} s)", flush=True)  # fmt: skip
        for label, sql, params in READS:
            new_ms, new_rows = median_ms(conn, sql, FILTERS | params, repeats)
            prev = re.sub(
                r"hookline\.(dead_letter_page|dead_letter_totals)\(", r"bench_prev.\1(", sql
            )
            old_ms, old_rows = median_ms(conn, prev, FILTERS | params, repeats)  # type: ignore[arg-type]
            print(f"{label:<52} {new_ms:8.1f} ms   before: {old_ms:8.1f} ms"
                  f"   ({old_ms / new_ms:.1f} times faster; same rows: {new_rows == old_rows})", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
