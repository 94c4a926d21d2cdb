"""Deployed by a non-superuser owner (as docs/security.md advises), forced row level security
binds the owner's own functions: operators' calls still see only their tenants, and the audit
chain stays whole across tenants."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.conftest import Server
from tests.helpers import hookline
from tests.security.conftest import as_role


@pytest.fixture
def owned_db(server: Server, empty_db: str, operator_roles: None) -> str:
    dbname = conninfo_to_dict(empty_db)["dbname"]
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'grant create on database "{dbname}" to hookline_owner')
        conn.execute("""do $$ begin if not exists (select from pg_roles where rolname = 'deployer') then
                          create role deployer login in role hookline_owner; end if; end $$""")
    dsn = make_conninfo(empty_db, user="deployer", options="-c role=hookline_owner")
    deployed = hookline("db", "deploy", "--dsn", dsn)
    assert deployed.returncode == 0, deployed.stderr
    return dsn


def test_a_non_superuser_owner_owns_everything_and_rls_binds_it(
    owned_db: str, empty_db: str
) -> None:
    with psycopg.connect(owned_db, autocommit=True) as conn:
        owners = conn.execute(
            """select distinct c.relowner::regrole::text from pg_class c
               where c.relnamespace = 'hookline'::regnamespace
               union select distinct p.proowner::regrole::text from pg_proc p
               where p.pronamespace = 'hookline'::regnamespace"""
        ).fetchall()
        assert owners == [("hookline_owner",)]
        for tenant in ("acme", "globex"):
            conn.execute(
                "select hookline.add_source(%s, %s, 'whatsapp', 's', create_tenant => true)",
                (tenant, f"{tenant}-wa"),
            )
            conn.execute(
                "select hookline.add_endpoint(%s, %s, 'https://handler.invalid/')",
                (tenant, f"{tenant}-crm"),
            )
            conn.execute("select hookline.add_subscription(%s, '*')", (f"{tenant}-crm",))
            conn.execute(
                "select hookline.ingest(%s, 'w' || i, 'x.y', '{}') from generate_series(1, 2) i",
                (f"{tenant}-wa",),
            )
            conn.execute("select hookline.grant_tenant(%s, %s)", (f"{tenant}_ops", tenant))
        conn.execute(
            "select hookline.discard(array(select delivery_id from hookline.deliveries), 'seed')"
        )
        globex = [
            r[0]
            for r in conn.execute(
                "select delivery_id from hookline.dead_letters where tenant_id = 'globex'"
            )
        ]
    with psycopg.connect(as_role(empty_db, "alice"), autocommit=True) as conn:
        assert conn.execute(
            "select distinct tenant_id from hookline.dead_letter_queue"
        ).fetchall() == [("acme",)]
        mine = [r[0] for r in conn.execute("select delivery_id from hookline.dead_letter_queue")]
        assert conn.execute(
            "select count(*) from hookline.replay(%s, reason => 'ok')", (mine,)
        ).fetchone() == (2,)
        with pytest.raises(psycopg.Error) as info:
            conn.execute("select hookline.replay(%s)", (globex,))
        assert info.value.sqlstate == "HL025"
        conn.execute("select hookline.pause_endpoint('acme-crm', 'deploy')")
    with psycopg.connect(as_role(empty_db, "bob"), autocommit=True) as conn:
        conn.execute("select hookline.replay(%s, reason => 'bob too')", (globex,))
    verify = hookline("audit", "verify", "--dsn", owned_db)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    with psycopg.connect(owned_db) as conn:
        actors = conn.execute(
            "select acting_role, action, tenant_id from hookline.audit_log where acting_role in ('alice', 'bob') order by audit_id"
        ).fetchall()
    assert actors == [("alice", "delivery.replay", "acme"), ("alice", "endpoints.update", "acme"),
                      ("bob", "delivery.replay", "globex")]  # fmt: skip
