"""Each operator query in sql/ runs through the real psql."""

from __future__ import annotations

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
    assert "events|5|20260226|20260302" in run.stdout
    assert "events|2027-01-01|1" in run.stdout
