"""A non-superuser owner deploying on a server where the DBA has not yet created hookline's group
roles (docs/security.md, "Granting roles to people and services (DBA)") is told what to run, in
one line, and the database is left as it was: no change, no registry, no role."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from hookline.migrator import GROUP_ROLES, Migrator
from hookline.pgcluster import LocalPostgres
from tests.conftest import require
from tests.helpers import ROOT, hookline

SNAPSHOT = """select (select array_agg(nspname::text order by nspname) from pg_namespace),
                     (select array_agg(rolname::text order by rolname) from pg_roles)"""


@pytest.fixture
def bare_server() -> Iterator[LocalPostgres]:
    """A new server: no hookline role exists (roles are cluster-wide, so not the suite's)."""
    root = Path(tempfile.mkdtemp(prefix="hookline-no-roles-"))
    pg = LocalPostgres(root, durable=False, password=False, cron=False)
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_deploy_without_the_group_roles_says_what_to_run_and_changes_nothing(
    bare_server: LocalPostgres,
) -> None:
    with psycopg.connect(bare_server.dsn(), autocommit=True) as conn:
        conn.execute("create database hookline")
        conn.execute("create role deployer login")
        conn.execute("grant create on database hookline to deployer")
    with psycopg.connect(bare_server.dsn("hookline"), autocommit=True) as conn:
        before = conn.execute(SNAPSHOT).fetchone()
    dsn = f"postgresql://deployer@127.0.0.1:{bare_server.port}/hookline"

    deployed = hookline("db", "deploy", "--dsn", dsn)

    assert deployed.returncode == 1, deployed.stdout + deployed.stderr
    assert "Traceback" not in deployed.stderr
    message = deployed.stderr.strip()
    assert message.count("\n") == 0, message  # one line
    assert message.startswith("hookline: the group roles hookline_owner, hookline_ingest, "
                              "hookline_runner, hookline_operator, hookline_readonly, "
                              "hookline_sender do not exist"), message  # fmt: skip
    assert "role deployer may not create roles" in message
    assert "docs/security.md" in message
    assert "create role hookline_owner nologin" in message
    assert ": nothing was deployed. A DBA runs this once" in message
    with psycopg.connect(bare_server.dsn("hookline"), autocommit=True) as conn:
        assert conn.execute(SNAPSHOT).fetchone() == before


def test_a_deploy_without_create_on_the_database_says_what_to_grant(
    bare_server: LocalPostgres,
) -> None:
    """The DBA created the roles but did not grant the owner CREATE on the database."""
    with psycopg.connect(bare_server.dsn(), autocommit=True) as conn:
        conn.execute("create database hookline")
        for role in ("owner", "ingest", "runner", "operator", "readonly", "sender"):
            conn.execute(f"create role hookline_{role} nologin")
        conn.execute("create role deployer login in role hookline_owner")
    with psycopg.connect(bare_server.dsn("hookline"), autocommit=True) as conn:
        before = conn.execute(SNAPSHOT).fetchone()
    dsn = (f"postgresql://deployer@127.0.0.1:{bare_server.port}/hookline"
           "?options=-c%20role%3Dhookline_owner")  # fmt: skip

    deployed = hookline("db", "deploy", "--dsn", dsn)

    assert deployed.returncode == 1, deployed.stdout + deployed.stderr
    message = deployed.stderr.strip()
    assert message.count("\n") == 0, message
    assert 'role hookline_owner may not create schemas in database "hookline"' in message
    assert 'grant create on database "hookline" to hookline_owner' in message
    assert ": nothing was deployed. A DBA runs this once" in message
    with psycopg.connect(bare_server.dsn("hookline"), autocommit=True) as conn:
        assert conn.execute(SNAPSHOT).fetchone() == before
    with psycopg.connect(bare_server.dsn(), autocommit=True) as conn:
        conn.execute('grant create on database "hookline" to hookline_owner')
    again = hookline("db", "deploy", "--dsn", dsn)
    assert again.returncode == 0, again.stderr


def test_after_sqitch_failed_for_want_of_the_roles_hookline_db_deploys(
    bare_server: LocalPostgres,
) -> None:
    """`sqitch deploy` by the same owner stops at role_hookline with PostgreSQL's error and
    reverts what it deployed, leaving its registry with no change in it: that database is one
    nothing was deployed to, and `hookline db deploy` deploys it once the DBA has run the block
    (it used to refuse: "0 change(s) were deployed by another tool (sqitch)")."""
    require(shutil.which("sqitch") is not None, "sqitch (Debian package sqitch)")
    with psycopg.connect(bare_server.dsn(), autocommit=True) as conn:
        conn.execute("create database hookline")
        conn.execute("create role deployer login")
        conn.execute("grant create on database hookline to deployer")
    target = f"db:pg://deployer@127.0.0.1:{bare_server.port}/hookline"
    failed = subprocess.run(
        ["sqitch", "deploy", target], cwd=ROOT / "migrations", capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert failed.returncode != 0
    assert "permission denied to create role" in failed.stdout + failed.stderr
    assert "Reverting all changes" in failed.stdout + failed.stderr
    with psycopg.connect(bare_server.dsn(), autocommit=True) as conn:
        for role in ("owner", "ingest", "runner", "operator", "readonly", "sender"):
            conn.execute(f"create role hookline_{role} nologin")
        conn.execute("grant hookline_owner to deployer")
    deployed = hookline("db", "deploy", "--dsn", target.replace("db:pg:", "postgresql:"))
    assert deployed.returncode == 0, deployed.stderr


def test_group_roles_names_every_role_the_migrations_create(bare_server: LocalPostgres) -> None:
    """migrator.GROUP_ROLES (what the preflight above asks a DBA to create, by change) is the
    roles the changes create, change by change, on a server that has none of them: a change
    that creates a new group role and is not listed there would fail half-way again."""
    with psycopg.connect(bare_server.dsn(), autocommit=True) as conn:
        conn.execute("create database hookline")
    dsn = bare_server.dsn("hookline")
    migrator = Migrator(dsn)
    created: dict[str, tuple[str, ...]] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for change in migrator.plan.changes:
            before = {r for (r,) in conn.execute("select rolname from pg_roles")}
            migrator.deploy(to=change.name)
            new = {r for (r,) in conn.execute("select rolname from pg_roles")} - before
            if new:
                created[change.name] = tuple(sorted(new))
    assert created == {change: tuple(sorted(roles)) for change, roles in GROUP_ROLES.items()}


def test_a_dsn_that_sets_a_role_the_server_refuses_points_to_the_dba_block(
    bare_server: LocalPostgres,
) -> None:
    """docs/security.md deploys with `options=-c role=hookline_owner` in the DSN. Before the
    DBA made that role (or granted it), the server's refusal ("role ... does not exist",
    "invalid value for parameter "role"" or "permission denied to set role", by version)
    named neither the DSN's option nor what to run. The user sees, in one line:
      hookline: cannot connect to 127.0.0.1:PORT/hookline: connection failed: ... FATAL:  role
      "hookline_owner" does not exist (the DSN's options set role hookline_owner: if it does
      not exist or deployer is not a member of it, a DBA creates it and grants it to
      deployer, as docs/security.md says, "Granting roles to people and services (DBA)")"""
    with psycopg.connect(bare_server.dsn(), autocommit=True) as conn:
        conn.execute("create database hookline")
        conn.execute("create role deployer login")
    dsn = (f"postgresql://deployer@127.0.0.1:{bare_server.port}/hookline"
           "?options=-c%20role%3Dhookline_owner")  # fmt: skip
    hint = (
        " (the DSN's options set role hookline_owner: if it does not exist or deployer is not "
        "a member of it, a DBA creates it and grants it to deployer, as docs/security.md says, "
        '"Granting roles to people and services (DBA)")\n'
    )
    for then in ("", "create role hookline_owner nologin"):  # missing, then not granted
        if then:
            with psycopg.connect(bare_server.dsn(), autocommit=True) as conn:
                conn.execute(then)
        status = hookline("db", "status", "--dsn", dsn)
        assert status.returncode == 1, status.stdout + status.stderr
        assert status.stderr.count("\n") == 1, status.stderr
        assert status.stderr.startswith(
            f"hookline: cannot connect to 127.0.0.1:{bare_server.port}/hookline: "
        ), status.stderr
        assert status.stderr.endswith(hint), status.stderr
        assert "hookline_owner" in status.stderr.removesuffix(hint), "the server's own words"
    # Granted, the same DSN connects (the database is not deployed yet).
    with psycopg.connect(bare_server.dsn(), autocommit=True) as conn:
        conn.execute("grant hookline_owner to deployer")
    assert hookline("db", "status", "--dsn", dsn).returncode == 0
