"""Each operator query in sql/ runs through the real psql."""

from __future__ import annotations

import datetime as dt

import psycopg

from tests.conftest import Server
from tests.helpers import ROOT, psql


def test_partitions_query_shows_days_and_waiting_rows(
    server: Server, db: str, tenant_source: str
) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select hookline.premake_partitions('2026-02-27 12:00Z')")
        conn.execute(
            "select hookline.ingest(%s, 'w1', 'whatsapp.message.text', '{}', null, '2027-01-01 00:00Z')",
            (tenant_source,),
        )
    run = psql(server.bindir, db, "-A", "-F", "|", "-f", str(ROOT / "sql" / "partitions.sql"))
    assert run.returncode == 0, run.stderr
    # Five days around Feb 27, and the five the deploy made around today.
    last = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=3)).strftime("%Y%m%d")
    assert f"events|10|20260226|{last}" in run.stdout
    assert "events|2027-01-01|1" in run.stdout


def test_outbound_queries_show_paused_numbers_open_breakers_and_outbox_states(
    server: Server, db: str, tenant_source: str
) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select hookline.add_sender('acme-wa', '1065', 'EAAG-token-1')")
        conn.execute("select hookline.add_sender('acme-wa', '2000', 'EAAG-token-2')")
        conn.execute("select hookline.pause_sender('2000', 'token expired')")
        conn.execute("select hookline.set_breaker('sender:1065', 'open', 'incident')")
        conn.execute(
            "select hookline.send_message('acme-wa', '+16505551234', "
            """'{"type": "text", "text": {"body": "private words"}}', 'k1', '1065')"""
        )
    states = psql(
        server.bindir, db, "-A", "-F", "|", "-f", str(ROOT / "sql" / "circuit_states.sql")
    )
    assert states.returncode == 0, states.stderr
    assert "sender|1065|acme|open|t|" in states.stdout, "the forced-open breaker of the number"
    outbox = psql(
        server.bindir, db, "-A", "-F", "|", "-f", str(ROOT / "sql" / "outbox_overview.sql")
    )
    assert outbox.returncode == 0, outbox.stderr
    assert "1065|queued|1|" in outbox.stdout
    assert "6505551234" not in outbox.stdout + states.stdout
    assert "private words" not in outbox.stdout + states.stdout
