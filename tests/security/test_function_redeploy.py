"""Redeploying functions keeps privileges: the group role hookline_sender (docs/outbound.md)
survives any change of send_message, and a grant made by hand survives a changed signature."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg

from hookline.migrator import Migrator
from tests.helpers import ROOT
from tests.security.conftest import as_role

SEND = (
    "select hookline.send_message(source => 'acme-wa', \"to\" => '+15550001111', "
    'message => \'{"type": "text", "text": {"body": "hi"}}\', idempotency_key => %s)'
)
OLD = "text,text,jsonb,text,text,timestamp with time zone"
NEW = OLD + ",text"


def test_grants_survive_a_changed_function_and_a_changed_signature(
    tmp_path: Path, db: str, operator_roles: None
) -> None:
    with psycopg.connect(db, autocommit=True) as owner:
        owner.execute(
            "select hookline.add_source('acme', 'acme-wa', 'whatsapp', 'secret', create_tenant => true)"
        )
        owner.execute("select hookline.add_sender('acme-wa', '1111', 'token-0123456789')")
        owner.execute("select hookline.grant_tenant('acme_ops', 'acme', 'onboarding')")
        owner.execute("grant hookline_sender to acme_ops")  # as docs/outbound.md says
        owner.execute(
            f"grant execute on function hookline.send_message({OLD}) to reader"
        )  # by hand

    functions = tmp_path / "functions"
    shutil.copytree(ROOT / "functions", functions)
    send = functions / "send_message.sql"
    send.write_text(send.read_text().replace("declare\n", "-- a one-comment change\ndeclare\n", 1))
    Migrator(db, functions=functions).deploy()
    with psycopg.connect(as_role(db, "alice"), autocommit=True) as alice:
        assert alice.execute(SEND, ("k1",)).fetchone()[0] > 0

    text = send.read_text()
    text = text.replace("  now timestamptz default pg_catalog.now()\n",
                        "  now timestamptz default pg_catalog.now(),\n  note text default null\n")  # fmt: skip
    text = text.replace(
        "text, text, jsonb, text, text, timestamptz)",
        "text, text, jsonb, text, text, timestamptz, text)",
    )
    send.write_text(text.replace(OLD, NEW))
    Migrator(db, functions=functions).deploy()
    with psycopg.connect(db, autocommit=True) as owner:
        signatures = owner.execute(
            "select oid::regprocedure::text from pg_proc where proname = 'send_message'"
        ).fetchall()
        assert len(signatures) == 1 and signatures[0][0] == f"hookline.send_message({NEW})"
        assert owner.execute(
            f"select has_function_privilege('reader', 'hookline.send_message({NEW})', 'execute')"
        ).fetchone()[0], "the grant made by hand was re-applied to the new signature"
    with psycopg.connect(as_role(db, "alice"), autocommit=True) as alice:
        assert alice.execute(SEND, ("k2",)).fetchone()[0] > 0
