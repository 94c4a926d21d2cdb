"""Operator reads on a real streaming standby (pg_basebackup from the test server): every
operator view, the sql/ queries, `hookline stats` and `dlq list|show` work there; replay and
discard are refused in one line that sends them to the primary (docs/scaling.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from tests.conftest import Server
from tests.helpers import ROOT, hookline, psql
from tests.standby import caught_up, standby


def dead_letters(conn: psycopg.Connection, count: int) -> list[int]:
    """`count` deliveries to an endpoint that answered 404: dead at once."""
    conn.execute("select hookline.add_endpoint('acme', 'crm', 'https://handler.invalid/hook')")
    conn.execute("select hookline.add_subscription('crm', '*')")
    for i in range(count):
        conn.execute("select hookline.ingest('acme-wa', %s, 'whatsapp.message.text', '{}')",
                     (f"w{i}",))  # fmt: skip
    claimed = conn.execute("select delivery_id, lease_token from hookline.claim('seed', 100, "
                           "'30 seconds') order by 1").fetchall()  # fmt: skip
    conn.execute("select hookline.complete(%s)", (Jsonb([
        {"delivery_id": d, "lease_token": str(lease), "status_code": 404} for d, lease in claimed
    ]),))  # fmt: skip
    return [d for d, _lease in claimed]


@pytest.fixture
def replica(server: Server, db: str, conn: psycopg.Connection, tenant_source: str) -> Iterator[str]:
    """DSN of the test database on a hot standby started after the seed."""
    dead_letters(conn, 3)
    with standby(server.pg) as pg:
        replica_dsn = pg.dsn(conn.info.dbname)
        caught_up(db, replica_dsn)
        yield replica_dsn


def test_operator_reads_work_on_a_streaming_replica(replica: str, server: Server) -> None:
    with psycopg.connect(replica, autocommit=True) as r:
        assert r.execute("select pg_is_in_recovery()").fetchone() == (True,)
        views = [v for (v,) in r.execute(
            "select viewname from pg_views where schemaname = 'hookline' order by 1"
        )]  # fmt: skip
        assert "dead_letter_queue" in views
        for view in views:  # every operator view reads on the replica
            r.execute(sql.SQL("select * from hookline.{} limit 5").format(sql.Identifier(view)))
    for query in sorted((ROOT / "sql").glob("*.sql")):
        run = psql(server.bindir, replica, "-A", "-f", str(query))
        assert run.returncode == 0, f"{query.name}: {run.stderr}"
    stats = hookline("stats", "--dsn", replica, "--json")
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["dlq"] == {"dead": 3}
    listed = hookline("dlq", "list", "--dsn", replica, "--json")
    assert listed.returncode == 0, listed.stderr
    ids = [row["delivery_id"] for row in json.loads(listed.stdout)]
    assert len(ids) == 3
    shown = hookline("dlq", "show", str(ids[0]), "--dsn", replica)
    assert shown.returncode == 0, shown.stderr
    assert "http_404" in shown.stdout


def test_writes_on_a_replica_are_refused_in_one_line_naming_the_primary(
    replica: str, db: str
) -> None:
    listed = json.loads(hookline("dlq", "list", "--dsn", replica, "--json").stdout)
    first = str(listed[0]["delivery_id"])
    for action in ("replay", "discard"):
        done = hookline("dlq", action, first, "--reason", "after the outage", "--dsn", replica)
        assert done.returncode == 1, done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith("hookline: The database is read-only"), lines
        assert "need the primary" in lines[0]
    # Nothing changed; the same command on the primary works and streams to the replica.
    replayed = hookline("dlq", "replay", first, "--reason", "after the outage", "--dsn", db)
    assert replayed.returncode == 0, replayed.stderr
    caught_up(db, replica)
    after = json.loads(hookline("dlq", "list", "--dsn", replica, "--json").stdout)
    assert [str(r["delivery_id"]) for r in after] == [str(r["delivery_id"]) for r in listed[1:]]


def test_a_runner_pointed_at_a_replica_is_refused_in_one_line(replica: str, db: str) -> None:
    for args, option in (
        (["--dsn", replica], "--dsn"),
        (["--dsn", db, "--listen-dsn", replica], "--listen-dsn"),
    ):
        done = hookline("runner", *args, "--name", "on-a-replica", timeout=60)
        assert done.returncode == 1, done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(f"hookline: {option} 127.0.0.1:"), lines
        assert "is a read-only replica: a runner needs the primary" in lines[0]
