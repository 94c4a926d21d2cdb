"""What the operator views cost since they read SECURITY DEFINER functions (issue 15).

    python benchmarks/operator_views.py "postgresql://postgres@HOST/scratch" [dead]

Deploys the schema into a database you can throw away, makes `dead` dead deliveries (default
10,000) for tenant `bench` and a tenth as many for `other` (the deliveries and dead letters of
an earlier run deleted first: it runs again on the same database), maps a login role (`bench_alice`,
created if missing, left in place) to `bench`, and times typical operator reads of
`hookline.dead_letter_queue` against the same-run baseline: the view as `view_operator` defined
it (a security-barrier view straight over the tables, which leaks through EXPLAIN), recreated
as `public.bench_old_dead_letter_queue` from `migrations/revert/view_operator_definer.sql`.
Prints the median of 5 runs of each and the ratio new/old, as the operator and as the owner.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

import psycopg
from bench_common import dead_letter_tenants, deploy
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent.parent
QUERIES = {
    "first page (order by delivery_id limit 50)": "select * from {v} order by delivery_id limit 50",
    "one delivery (delivery_id = x)": "select * from {v} where delivery_id = {x}",
    "count(*)": "select count(*) from {v}",
}


def old_view(conn: psycopg.Connection) -> None:
    text = (ROOT / "migrations" / "revert" / "view_operator_definer.sql").read_text()
    body = re.search(
        r"create or replace view hookline\.dead_letter_queue with \(security_barrier\) as\n(.*?);\n",
        text, re.S,
    ).group(1)  # fmt: skip
    conn.execute("drop view if exists public.bench_old_dead_letter_queue")
    conn.execute(
        sql.SQL("create view public.bench_old_dead_letter_queue with (security_barrier) as ")
        + sql.SQL(body)  # type: ignore[arg-type]  # the migration's own text
    )
    conn.execute("grant select on public.bench_old_dead_letter_queue to bench_ops")


def old_mask_text(conn: psycopg.Connection) -> None:
    """mask_text as function_masking defined it (reads the rules on every call)."""
    text = (ROOT / "migrations" / "deploy" / "function_masking.sql").read_text()
    body = re.search(
        r"create function hookline\.mask_text\(value text\)\n(.*?end;)\n", text, re.S
    ).group(1)
    conn.execute(
        sql.SQL("create or replace function public.bench_old_mask_text(value text)\n")
        + sql.SQL(body.replace("mask_text.value", "bench_old_mask_text.value"))  # type: ignore[arg-type]
    )


def median_ms(conn: psycopg.Connection, query: sql.Composed) -> float:
    times = []
    for _ in range(5):
        t = time.perf_counter()
        conn.execute(query).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    dsn = sys.argv[1]
    dead = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    deploy(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("""do $$ begin
            if not exists (select from pg_roles where rolname = 'bench_ops') then
              create role bench_ops nologin in role hookline_operator;
              create role bench_alice login in role bench_ops;
            end if; end $$""")
        dead_letter_tenants(conn, {"bench": dead, "other": dead // 10})
        conn.execute("select hookline.grant_tenant('bench_ops', 'bench')")
        claim = "select delivery_id, lease_token from hookline.claim('bench', 1000, '1 minute')"
        while rows := conn.execute(claim).fetchall():
            results = [
                {"delivery_id": d, "lease_token": str(t), "status_code": 404} for d, t in rows
            ]
            conn.execute("select count(*) from hookline.complete(%s)", (Jsonb(results),))
        conn.execute("analyze")
        # One of the operator's dead letters, from the middle of the queue.
        middle = conn.execute(
            "select delivery_id from hookline.dead_letters where tenant_id = 'bench'"
            " order by delivery_id offset %s limit 1",
            (dead // 2,),
        ).fetchone()
        x = sql.Literal(middle[0] if middle else 0)
        old_view(conn)
        old_mask_text(conn)
        calls = "select {f}('HTTP 404 from +4915112345678, last: http_404 ' || i) from generate_series(1, 10000) i"
        old = median_ms(
            conn, sql.SQL(calls).format(f=sql.Identifier("public", "bench_old_mask_text"))
        )
        new = median_ms(conn, sql.SQL(calls).format(f=sql.Identifier("hookline", "mask_text")))
        print(
            f"mask_text, 10,000 calls: rules read per call {old:.1f} ms, written out {new:.1f} ms, "
            f"new/old {new / old:.2f}"
        )
    print(
        f"{dead} dead letters for the operator's tenant, {dead // 10} for another; median of 5, ms"
    )
    print(f"{'who':<9} {'query':<44} {'old view':>9} {'new view':>9} {'new/old':>8}")
    for who, role_dsn in (("operator", make_conninfo(dsn, user="bench_alice")), ("owner", dsn)):
        with psycopg.connect(role_dsn, autocommit=True) as conn:
            for label, template in QUERIES.items():
                old = median_ms(conn, sql.SQL(template).format(  # type: ignore[arg-type]
                    v=sql.Identifier("public", "bench_old_dead_letter_queue"), x=x))  # fmt: skip
                new = median_ms(conn, sql.SQL(template).format(  # type: ignore[arg-type]
                    v=sql.Identifier("hookline", "dead_letter_queue"), x=x))  # fmt: skip
                print(f"{who:<9} {label:<44} {old:9.1f} {new:9.1f} {new / old:8.1f}")


if __name__ == "__main__":
    main()
