"""The schema version in SQL (hookline.schema_changes): newer databases are refused with exit
status 57 and nothing changed, older ones name what is pending, and every change from
table_schema_changes on records itself."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from hookline.errors import MigrationError, SchemaTooNew
from hookline.migrator import VERSION_CHANGE, Migrator
from tests.helpers import ROOT, hookline
from tests.migration.test_migrator import copy_project

BODY = "select prosrc from pg_proc where oid = 'hookline.default_partition_rows'::regproc"


def test_the_version_lists_every_change_of_the_plan_in_order(db: str) -> None:
    with psycopg.connect(db) as conn:
        recorded = [
            c for (c,) in conn.execute("select change from hookline.schema_changes order by seq")
        ]
    assert recorded == [c.name for c in Migrator(db).plan.changes]


def test_a_newer_database_is_refused_and_its_functions_are_not_downgraded(
    tmp_path: Path, db: str
) -> None:
    migrations, functions = copy_project(tmp_path)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            "insert into hookline.schema_changes (change) values ('table_from_the_future')"
        )
        body = conn.execute(BODY).fetchone()[0]
    older = functions / "default_partition_rows.sql"
    older.write_text(older.read_text().replace("select", "select /* older */", 1))

    with pytest.raises(SchemaTooNew, match="table_from_the_future"):
        Migrator(db, migrations=migrations, functions=functions).deploy()
    with psycopg.connect(db) as conn:
        assert conn.execute(BODY).fetchone()[0] == body, "the function was not replaced"

    deploy = hookline("db", "deploy", "--dsn", db)
    assert deploy.returncode == 57
    assert deploy.stderr.startswith(
        "hookline: the database has changes this hookline does not know"
    )


def test_an_older_database_names_the_pending_changes(db: str) -> None:
    last = Migrator(db).plan.changes[-1].name
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("delete from hookline.schema_changes where change = %s", (last,))
    runner = hookline("runner", "--dsn", db)
    assert runner.returncode == 1
    assert f"pending changes: {last}" in runner.stderr
    assert "run hookline db deploy" in runner.stderr
    status = hookline("db", "status", "--dsn", db)
    assert f"pending:  {last}" in status.stdout


def test_a_function_changed_outside_hookline_is_pending(db: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        hotfix = (ROOT / "functions" / "default_partition_rows.sql").read_text()
        conn.execute(hotfix.replace("declare\n", "declare -- a hotfix by hand\n", 1))
    runner = hookline("runner", "--dsn", db)
    assert runner.returncode == 1
    assert "functions to apply: default_partition_rows" in runner.stderr
    deploy = hookline("db", "deploy", "--dsn", db)
    assert "~ function default_partition_rows" in deploy.stdout, "the hotfix is replaced"
    Migrator(db).require_current()


def test_a_change_that_does_not_record_itself_is_rolled_back(tmp_path: Path, empty_db: str) -> None:
    migrations, functions = copy_project(tmp_path)
    plan = migrations / "sqitch.plan"
    plan.write_text(
        plan.read_text()
        + "table_widgets [table_schema_changes] 2026-11-29T18:00:00Z hookline maintainers "
        "<maintainers@hookline.invalid> # Widgets\n"
    )
    for kind, body in (("deploy", "create table hookline.widgets (id int);"),
                       ("revert", "drop table hookline.widgets;"),
                       ("verify", "select id from hookline.widgets where false;")):  # fmt: skip
        end = "ROLLBACK;" if kind == "verify" else "COMMIT;"
        (migrations / kind / "table_widgets.sql").write_text(f"BEGIN;\n{body}\n{end}\n")
    with pytest.raises(MigrationError, match=r"must record the change in hookline\.schema_changes"):
        Migrator(empty_db, migrations=migrations, functions=functions).deploy()
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("select to_regclass('hookline.widgets')").fetchone()[0] is None
        last = conn.execute(
            "select max(change) filter (where seq = (select max(seq) from hookline.schema_changes)) from hookline.schema_changes"
        ).fetchone()[0]
    assert last != "table_widgets"
    assert VERSION_CHANGE in Migrator(empty_db).plan.names
