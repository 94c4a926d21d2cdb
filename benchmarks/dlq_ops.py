"""The operator's DLQ commands at 10,000 and 100,000 dead letters, against a plain indexed
select on the same table in the same run.

    python benchmarks/dlq_ops.py "postgresql://postgres@HOST/scratch" [sizes] [repeats]

sizes: comma-separated dead-letter counts (default 10000,100000); repeats: runs per read
(default 20; the median is printed). Deploys the schema into a database you can throw away,
and for each size makes that many dead deliveries for the tenant `bench` (and a tenth for
`other`) and a login role `bench_ops_login` mapped to `bench` (with a fresh random password,
so it works on `hookline up`'s password-protected server). Then, as that operator, it runs the
statements the CLI runs (`hookline.queries`): `dlq list` (first page, a page by
`--event-type 'whatsapp.message.*' --until`, the last page by `--after`), `dlq show`, and for
comparison `dlq show` as v0.2 ran it (a `where` on each masked view, which reads and masks
all of the caller's rows first) and as v0.1 did (a join to the masked event view); then `dlq replay --all` and
`dlq discard --all` through the CLI (chunks of 500). Each read is printed as its median in
milliseconds and its ratio to `select * from hookline.dead_letters where delivery_id = $1`
(the baseline, measured in the same run as the owner), so figures from machines of different
speed compare; the bulk commands print seconds and their ratio per row to the baseline.
"""

from __future__ import annotations

import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import psycopg
from bench_common import deploy
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from hookline import queries

V01_SHOW = """
select q.*, ev.payload, ev.source, ev.external_id, ev.wa_id
from hookline.dead_letter_queue q
left join hookline.event_log ev on ev.event_id = q.event_id and ev.received_at = q.event_received_at
where q.delivery_id = %(id)s
"""
# dlq show's three reads as v0.2 sent them: a `where` on each masked view.
V02_SHOW = (
    "select q.* from hookline.dead_letter_queue q where q.delivery_id = %(id)s",
    "select ev.payload, ev.source, ev.external_id, ev.wa_id from hookline.event_log ev "
    "where ev.event_id = %(event_id)s and ev.received_at = %(received_at)s",
    "select a.* from hookline.attempt_log a where a.delivery_id = %(id)s "
    "order by a.attempted_at, a.attempt_id",
)
NO_FILTER = {k: None for k in ("tenant", "endpoint", "event_type", "since", "until",
                               "error_class", "state")}  # fmt: skip


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm the plan and the cache
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def make_dead(conn: psycopg.Connection, tenant: str, count: int) -> None:
    """`count` events for `tenant`, their deliveries moved to the DLQ as answered 404 (setup:
    the same rows hookline.complete writes, without making 100,000 HTTP attempts)."""
    conn.execute(
        "select hookline.add_source(%s, %s, 'whatsapp', 's', create_tenant => true)",
        (tenant, tenant),
    )
    conn.execute(
        "select hookline.add_endpoint(%s, %s, 'https://handler.invalid/')", (tenant, tenant)
    )
    conn.execute("select hookline.add_subscription(%s, '*')", (tenant,))
    conn.execute(
        "select hookline.ingest(%s, 'w' || i, case when i %% 10 = 0 then 'whatsapp.status.read'"
        " else 'whatsapp.message.text' end, '{\"from\": \"4915112345678\"}')"
        " from generate_series(1, %s::int) i",
        (tenant, count),
    )
    to_dlq(conn, tenant)


def to_dlq(conn: psycopg.Connection, tenant: str) -> None:
    conn.execute(
        """with moved as (delete from hookline.deliveries d where d.tenant_id = %s returning d.*)
           insert into hookline.dead_letters (delivery_id, endpoint_id, event_id, event_received_at,
             created_at, finished_at, last_status_code, attempt_count, generation, state, tenant_id, reason)
           select m.delivery_id, m.endpoint_id, m.event_id, m.event_received_at, m.created_at,
             now(), 404, 1, m.generation, 'dead', m.tenant_id, 'permanent: http 404'
           from moved m""",
        (tenant,),
    )


def run_size(dsn: str, dead: int, repeats: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("delete from hookline.dead_letters")
        conn.execute("delete from hookline.deliveries")
        conn.execute("delete from hookline.subscriptions")
        conn.execute("delete from hookline.endpoints")
        conn.execute("delete from hookline.sources")
        conn.execute("delete from hookline.role_tenants")
        conn.execute("delete from hookline.tenants")
        conn.execute("delete from hookline.event_keys")
        conn.execute("truncate hookline.events")
        t = time.perf_counter()
        make_dead(conn, "bench", dead)
        make_dead(conn, "other", dead // 10)
        conn.execute("analyze")
        print(f"\n{dead:,} dead letters (setup {time.perf_counter() - t:.1f} s)")
        password = secrets.token_urlsafe(16)
        conn.execute("""do $$ begin
            if not exists (select from pg_roles where rolname = 'bench_ops_login') then
              create role bench_ops_login login in role hookline_operator;
            end if; end $$""")
        conn.execute(f"alter role bench_ops_login password '{password}'")  # a fresh token
        conn.execute("select hookline.grant_tenant('bench_ops_login', 'bench')")
        ids = [r[0] for r in conn.execute(
            "select delivery_id from hookline.dead_letters where tenant_id = 'bench' order by 1")]  # fmt: skip
        middle = ids[len(ids) // 2]
        base = median_ms(lambda: conn.execute(
            "select * from hookline.dead_letters where delivery_id = %s", (middle,)).fetchall(), repeats * 10)  # fmt: skip
    op = make_conninfo(dsn, user="bench_ops_login", password=password)
    print(f"{'baseline: select by primary key (owner)':<52} {base:8.2f} ms  1.0x")
    with psycopg.connect(op, autocommit=True) as conn:
        cur = conn.cursor(row_factory=dict_row)

        def row(label: str, fn: Callable[[], object], times: int = repeats) -> None:
            ms = median_ms(fn, times)
            print(f"{label:<52} {ms:8.2f} ms  {ms / base:5.1f}x")

        def page(**kw: object) -> Callable[[], object]:
            params = {**NO_FILTER, "after": 0, "limit": 50, "replayable": False, **kw}
            return lambda: cur.execute(queries.DLQ_LIST, params).fetchall()

        def show(statements: tuple[str, str, str]) -> Callable[[], object]:
            def run() -> None:
                q = cur.execute(statements[0], {"id": middle}).fetchone()
                cur.execute(statements[1],
                            {"event_id": q["event_id"], "received_at": q["event_received_at"]}).fetchall()  # fmt: skip
                cur.execute(statements[2], {"id": middle}).fetchall()

            return run

        row("dlq list (first page of 50)", page())
        row("dlq list --event-type 'whatsapp.status.*' --until", page(
            event_type="whatsapp.status.*", until="2100-01-01T00:00:00Z"))  # fmt: skip
        row("dlq list --after <last page>", page(after=ids[-50]))
        row("dlq show ID", show((queries.DLQ_SHOW, queries.DLQ_EVENT, queries.DLQ_ATTEMPTS)))
        row("dlq show ID as in v0.2 (a where on each view)", show(V02_SHOW), min(repeats, 3))
        row("dlq show ID as in v0.1 (join to event_log)",
            lambda: cur.execute(V01_SHOW, {"id": middle}).fetchall(), min(repeats, 3))  # fmt: skip
    hl = [sys.executable, "-m", "hookline"]
    for action in ("replay", "discard"):
        if action == "discard":  # the replayed deliveries dead again, to be discarded
            with psycopg.connect(dsn, autocommit=True) as conn:
                to_dlq(conn, "bench")
                conn.execute("analyze hookline.dead_letters")  # as autovacuum would
        t = time.perf_counter()
        run = subprocess.run([*hl, "dlq", action, "--all", "--reason", "bench", "--dsn", op],
                             check=True, capture_output=True, text=True)  # fmt: skip
        seconds = time.perf_counter() - t
        per_row = seconds * 1000 / dead
        print(f"{f'dlq {action} --all (CLI, chunks of 500)':<52} {seconds:8.2f} s   "
              f"{per_row / base:5.2f}x baseline per row ({run.stdout.strip()})")  # fmt: skip


def main() -> None:
    dsn = sys.argv[1]
    sizes = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "10000,100000").split(",")]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    deploy(dsn)
    for dead in sizes:
        run_size(dsn, dead, repeats)


if __name__ == "__main__":
    main()
