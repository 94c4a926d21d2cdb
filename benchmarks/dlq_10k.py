"""Working a dead-letter queue of 10,000 deliveries as an operator, from the CLI and psql.

    python benchmarks/dlq_10k.py "postgresql://postgres@HOST/scratch" [dead] [psql]

Deploys the schema into a database you can throw away, creates two tenants (or takes them
from an earlier run, whose deliveries and dead letters it deletes: it runs again on the same
database), dead deliveries for both (`dead`, default 10,000, for the operator's tenant and a
tenth as many for the other), a
NOLOGIN group role mapped to the first tenant and a login role in it (created if missing,
left in place, given a fresh random password each run so it logs in on a server that asks
for one, such as `hookline up`'s), then times as that operator: `hookline dlq list` (first page, a filtered
page, the last page), `psql -f sql/dlq_overview.sql`, `hookline stats`, `hookline dlq replay
--all --dry-run`, `hookline dlq replay --all` (chunks of 500), then, the deliveries dead again, one
`select hookline.replay(...)` of all of them through psql, and `hookline audit verify`.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from bench_common import dead_letter_tenants, deploy
from psycopg.conninfo import make_conninfo
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent.parent


def timed(label: str, args: list[str]) -> str:
    t = time.perf_counter()
    run = subprocess.run(args, capture_output=True, text=True, check=True)
    print(f"{label:<48} {time.perf_counter() - t:6.2f} s")
    return run.stdout


def kill_all(conn: psycopg.Connection) -> None:
    """Every queued delivery to the DLQ: claimed and answered 404."""
    t = time.perf_counter()
    claim = "select delivery_id, lease_token from hookline.claim('bench', 1000, '1 minute')"
    while rows := conn.execute(claim).fetchall():
        results = [
            {"delivery_id": d, "lease_token": str(tok), "status_code": 404} for d, tok in rows
        ]
        conn.execute("select count(*) from hookline.complete(%s)", (Jsonb(results),))
    print(f"{'setup: dead deliveries made':<48} {time.perf_counter() - t:6.2f} s")


def main() -> None:
    dsn = sys.argv[1]
    dead = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    psql = sys.argv[3] if len(sys.argv) > 3 else "psql"
    deploy(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("""do $$ begin
            if not exists (select from pg_roles where rolname = 'bench_ops') then
              create role bench_ops nologin in role hookline_operator;
              create role bench_alice login in role bench_ops;
            end if; end $$""")
        dead_letter_tenants(conn, {"bench": dead, "other": dead // 10})
        password = secrets.token_urlsafe(16)
        conn.execute(f"alter role bench_alice password '{password}'")  # a fresh token
        conn.execute("select hookline.grant_tenant('bench_ops', 'bench')")
        kill_all(conn)
        last_page = conn.execute(
            "select coalesce(min(delivery_id), 0) from (select delivery_id from hookline.dead_letters"
            " where tenant_id = 'bench' order by delivery_id desc limit 51) x"
        ).fetchone()
    assert last_page is not None
    op = make_conninfo(dsn, user="bench_alice", password=password)
    hl = [sys.executable, "-m", "hookline"]
    timed("dlq list (first page of 50)", [*hl, "dlq", "list", "--dsn", op])
    timed(
        "dlq list --error-class http_404 --limit 1000",
        [*hl, "dlq", "list", "--dsn", op, "--error-class", "http_404", "--limit", "1000"],
    )
    timed(
        "dlq list --after <last page>",
        [*hl, "dlq", "list", "--dsn", op, "--after", str(last_page[0])],
    )
    timed(
        "psql -f sql/dlq_overview.sql",
        [psql, "-X", "-d", op, "-f", str(ROOT / "sql" / "dlq_overview.sql")],
    )
    timed("stats", [*hl, "stats", "--dsn", op])
    print(
        timed(
            "dlq replay --all --dry-run",
            [*hl, "dlq", "replay", "--all", "--dry-run", "--reason", "bench", "--dsn", op],
        ).strip()
    )
    print(
        timed(
            "dlq replay --all (chunks of 500)",
            [*hl, "dlq", "replay", "--all", "--reason", "bench", "--dsn", op],
        ).strip()
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        kill_all(conn)
    replay_all = ("select count(*) from hookline.replay(array(select delivery_id from "
                  "hookline.dead_letter_queue), reason => 'bench from psql')")  # fmt: skip
    print(
        timed(
            "psql: replay every dead delivery in one call",
            [psql, "-X", "-At", "-d", op, "-c", replay_all],
        ).strip()
    )
    print(timed("audit verify (owner)", [*hl, "audit", "verify", "--dsn", dsn]).strip())


if __name__ == "__main__":
    main()
