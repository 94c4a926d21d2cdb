"""The ingress and a runner through a real PgBouncer in transaction pooling mode
(docs/scaling.md): webhooks in, deliveries out, no prepared statement lost, no session state
left behind on the shared server connections, and LISTEN over its own session DSN."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests import pgbouncer as bouncer_mod
from tests.conftest import Server, require
from tests.helpers import hookline
from tests.ingress_helpers import FIXTURES, running_ingress, sign
from tests.integration.conftest import RunnerProcess, scalar, wait_until
from tests.target import Target

SECRET = "app-secret"
WEBHOOKS = 30
# The runner asked for its next due time (after an empty claim) after its LISTEN ran.
AWAKE_AFTER_LISTEN = """
select exists (
  select from pg_stat_activity n, pg_stat_activity l
  where n.datname = current_database() and l.datname = current_database()
    and l.query = 'listen hookline_deliveries' and n.query like '%hookline.next_due()%'
    and n.query_start > l.query_start)
"""  # > psycopg's prepare threshold (5) per pooled connection, many times over


@pytest.fixture
def bouncer(server: Server) -> Iterator[bouncer_mod.Bouncer]:
    require(bouncer_mod.available(), "pgbouncer (Debian package pgbouncer)")
    with bouncer_mod.pgbouncer(server.port) as b:
        yield b


def text_webhook(n: int) -> bytes:
    """The text fixture with its own message id, so each one is a new event."""
    body = json.loads((FIXTURES / "text.json").read_text())
    body["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = f"wamid.bouncer{n}"
    return json.dumps(body).encode()


def test_ingress_and_runner_deliver_through_a_transaction_pooler(
    db: str, conn: psycopg.Connection, bouncer: bouncer_mod.Bouncer, target: Target,
    tmp_path: Path,
) -> None:  # fmt: skip
    conn.execute("select hookline.add_source('acme', 'wa', 'whatsapp', %s, 'v', 65536, true)",
                 (SECRET,))  # fmt: skip
    conn.execute(
        "select hookline.add_endpoint(tenant => 'acme', name => 'crm', url => %s, "
        "max_in_flight => 4)", (target.url("/ok"),),
    )  # fmt: skip
    conn.execute(
        "select hookline.add_endpoint(tenant => 'acme', name => 'gone', url => %s)",
        (target.url("/status/404"),),
    )
    for endpoint in ("crm", "gone"):
        conn.execute("select hookline.add_subscription(endpoint => %s, event_type_pattern => "
                     "'whatsapp.message.*')", (endpoint,))  # fmt: skip
    pooled = bouncer.dsn(conn.info.dbname)
    # --poll 600: without LISTEN (over the direct session DSN) nothing would wake the runner
    # in time; every wake-up here is a notification.
    runner = RunnerProcess(pooled, "pooled", "--listen-dsn", db, "--poll", "600",
                           "--concurrency", "8", "--batch", "2")  # fmt: skip
    try:
        with running_ingress(pooled, tmp_path / "ingress.log", "--pool-size", "6") as ingress:
            for n in range(WEBHOOKS):
                body = text_webhook(n)
                resp = httpx.post(f"{ingress.url}/webhooks/wa", content=body, timeout=30,
                                  headers={"content-type": "application/json",
                                           "x-hub-signature-256": sign(SECRET, body)})  # fmt: skip
                assert resp.status_code == 200, resp.text
            wait_until(lambda: len(target.requests) >= 2 * WEBHOOKS, what="every webhook delivered")
            ingress_log = ingress.log.read_text()
        wait_until(lambda: scalar(conn, "select count(*) from hookline.deliveries") == 0,
                   what="the queue to empty")  # fmt: skip
        # The operator commands through the pooler too: a bulk replay runs the same two
        # statements once per chunk, past psycopg's prepare threshold.
        stats = hookline("stats", "--dsn", pooled, "--json")
        assert stats.returncode == 0, stats.stderr
        assert json.loads(stats.stdout)["dlq"] == {"dead": WEBHOOKS}
        replay = hookline("dlq", "replay", "--all", "--chunk", "3", "--reason", "test",
                          "--dsn", pooled)  # fmt: skip
        assert replay.returncode == 0, replay.stderr
        assert f"replayed {WEBHOOKS} deliveries" in replay.stdout
        # replay's NOTIFY, sent through the pooler, wakes the runner on its session DSN
        wait_until(lambda: len(target.requests) >= 3 * WEBHOOKS, what="the replays delivered")
        runner.signal(signal.SIGTERM)
        assert runner.wait(timeout=30) == 0
        output = runner.output()
    finally:
        runner.stop()
    assert len(target.requests) == 3 * WEBHOOKS
    assert sum(r.path == "/ok" for r in target.requests) == WEBHOOKS
    for problem in ("prepared statement", "failed", "could not", "listen connection lost"):
        assert problem not in output + ingress_log, output + ingress_log
    # It went through PgBouncer, and its two server connections served every client.
    (pool,) = [p for p in bouncer.show("pools") if p["database"] == conn.info.dbname]
    assert pool["pool_mode"] == "transaction"
    (stats,) = [s for s in bouncer.show("stats") if s["database"] == conn.info.dbname]
    assert int(stats["total_xact_count"]) > 3 * WEBHOOKS
    servers = [s for s in bouncer.show("servers") if s["database"] == conn.info.dbname]
    assert 1 <= len(servers) <= 2
    # No session state stays behind on the shared server connections (the ingress sets its
    # statement timeout only on a session of its own).
    with psycopg.connect(pooled, autocommit=True, prepare_threshold=None) as c:
        for _ in range(4):
            assert scalar(c, "select current_setting('statement_timeout')") == "0"


def test_a_listener_on_a_transaction_pooler_is_refused_in_one_line(
    db: str, bouncer: bouncer_mod.Bouncer
) -> None:
    pooled = bouncer.dsn(psycopg.conninfo.conninfo_to_dict(db)["dbname"])
    for args, option in (
        (["--dsn", pooled], "--dsn"),
        (["--dsn", db, "--listen-dsn", pooled], "--listen-dsn"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "hookline", "runner", *args, "--name", "refused"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 1, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert lines[0].startswith(f"hookline: {option} 127.0.0.1:{bouncer.port}/"), lines
        assert "LISTEN needs a session connection" in lines[0]
        assert "--listen-dsn" in lines[0]
    # The same DSN as --dsn with a direct --listen-dsn is what works (the test above).


def test_a_session_mode_pool_is_a_good_listen_dsn(
    db: str, server: Server, conn: psycopg.Connection, tenant_source: str, target: Target
) -> None:
    require(bouncer_mod.available(), "pgbouncer (Debian package pgbouncer)")
    conn.execute("select hookline.add_endpoint(tenant => 'acme', name => 'crm', url => %s)",
                 (target.url("/ok"),))  # fmt: skip
    conn.execute("select hookline.add_subscription('crm', 'test.*')")
    with bouncer_mod.pgbouncer(server.port, pool_mode="session") as session:
        runner = RunnerProcess(db, "session", "--listen-dsn", session.dsn(conn.info.dbname),
                               "--poll", "600")  # fmt: skip
        try:
            # Listening, and asleep after its first (empty) claim: from now on only a
            # notification wakes it within the test (--poll 600, nothing due).
            wait_until(lambda: scalar(conn, AWAKE_AFTER_LISTEN), what="the first claim")
            conn.execute("select hookline.ingest('acme-wa', 'e1', 'test.one', '{}')")
            wait_until(lambda: len(target.requests) == 1, what="the delivery")
        finally:
            runner.stop()
