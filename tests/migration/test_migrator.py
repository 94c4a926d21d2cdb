"""`hookline db ...` against real databases: round trips, locking, drift and bad input."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import psycopg
import pytest

from hookline.migrator import Migrator
from hookline.plan import read_plan
from tests.conftest import Server
from tests.helpers import ROOT, hookline, schema_dump

REGISTRY = "hookline_registry"


def copy_project(tmp_path: Path) -> tuple[Path, Path]:
    migrations = tmp_path / "migrations"
    functions = tmp_path / "functions"
    shutil.copytree(ROOT / "migrations", migrations)
    shutil.copytree(ROOT / "functions", functions)
    return migrations, functions


def tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select schemaname || '.' || tablename from pg_tables where schemaname = 'hookline'"
        )
        return {r[0] for r in rows}


def test_deploy_revert_deploy_leaves_the_schema_of_one_deploy(
    server: Server, empty_db: str
) -> None:
    assert hookline("db", "deploy", "--dsn", empty_db).returncode == 0
    once = schema_dump(server.bindir, empty_db, REGISTRY)
    reverted = hookline("db", "revert", "-y", "--dsn", empty_db)
    assert reverted.returncode == 0, reverted.stderr
    assert tables(empty_db) == set()
    assert hookline("db", "deploy", "--dsn", empty_db).returncode == 0
    assert schema_dump(server.bindir, empty_db, REGISTRY) == once


def test_every_change_reverts_and_redeploys_one_at_a_time(server: Server, empty_db: str) -> None:
    migrator = Migrator(empty_db)
    names = [c.name for c in migrator.plan.changes]
    for i, name in enumerate(names):
        migrator.deploy(to=name)
        before = schema_dump(server.bindir, empty_db, REGISTRY)
        if i:
            migrator.revert(to=names[i - 1])
            migrator.deploy(to=name)
            assert schema_dump(server.bindir, empty_db, REGISTRY) == before, name


def test_status_shows_pending_then_nothing(empty_db: str) -> None:
    out = hookline("db", "status", "--dsn", empty_db).stdout
    assert "pending:  schema_hookline, table_tenants" in out
    hookline("db", "deploy", "--dsn", empty_db)
    out = hookline("db", "status", "--dsn", empty_db).stdout
    assert "pending:  none" in out and "functions to apply: none" in out


def test_dsn_comes_from_the_environment(empty_db: str) -> None:
    assert hookline("db", "deploy", env={"HOOKLINE_DSN": empty_db}).returncode == 0
    out = hookline("db", "status", env={"DATABASE_URL": empty_db}).stdout
    assert "pending:  none" in out


def test_verify_reports_every_change(db: str) -> None:
    run = hookline("db", "verify", "--dsn", db)
    assert run.returncode == 0
    assert run.stdout.count("ok  ") == len(Migrator(db).plan.changes)


def test_verify_fails_when_an_object_is_gone(db: str) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("drop table hookline.event_keys")
    run = hookline("db", "verify", "--dsn", db)
    assert run.returncode == 1
    assert "FAIL  table_event_keys" in run.stdout


def test_two_deploys_at_once_apply_once(empty_db: str) -> None:
    results: list[list[str]] = []
    barrier = threading.Barrier(2)

    def deploy() -> None:
        barrier.wait()
        results.append(Migrator(empty_db).deploy())

    threads = [threading.Thread(target=deploy) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in results) == [0, len(Migrator(empty_db).plan.changes)]


def test_second_concurrent_deploy_reports_nothing_pending(empty_db: str) -> None:
    with psycopg.connect(empty_db, autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(hashtext('hookline.deploy'))")
        first = threading.Thread(target=lambda: Migrator(empty_db).deploy())
        first.start()
        first.join(timeout=1)
        assert first.is_alive(), "deploy must wait for the lock"
        holder.execute("select pg_advisory_unlock(hashtext('hookline.deploy'))")
        first.join(timeout=30)
    assert "nothing to deploy" in hookline("db", "deploy", "--dsn", empty_db).stdout


def test_drift_is_reported(tmp_path: Path, empty_db: str) -> None:
    migrations, functions = copy_project(tmp_path)
    Migrator(empty_db, migrations=migrations, functions=functions).deploy()
    script = migrations / "deploy" / "table_sources.sql"
    script.write_text(script.read_text() + "\n-- edited after deploy\n")
    status = Migrator(empty_db, migrations=migrations, functions=functions).status()
    assert status.drifted == ["table_sources"]


def test_changed_function_is_reapplied_and_orphan_dropped(tmp_path: Path, empty_db: str) -> None:
    migrations, functions = copy_project(tmp_path)
    Migrator(empty_db, migrations=migrations, functions=functions).deploy()
    f = functions / "default_partition_rows.sql"
    f.write_text(f.read_text().replace("Empty when", "Still empty when"))
    index = functions / "index.sql"
    index.write_text(index.read_text().replace("\\ir repair_default_partitions.sql\n", ""))
    (functions / "repair_default_partitions.sql").unlink()
    said: list[str] = []
    Migrator(empty_db, migrations=migrations, functions=functions, say=said.append).deploy()
    assert said == [
        "- function repair_default_partitions (its file is gone)",
        "~ function default_partition_rows",
    ]
    with psycopg.connect(empty_db) as conn:
        comment = conn.execute(
            "select obj_description('hookline.default_partition_rows()'::regprocedure)"
        ).fetchone()[0]
        assert comment.startswith("Rows sitting")
        gone = conn.execute("select to_regproc('hookline.repair_default_partitions')").fetchone()[0]
        assert gone is None


# --- bad input: one line naming the change and file, non-zero exit, nothing half-applied ---


def run_with(tmp_path: Path, dsn: str, *args: str) -> tuple[int, str]:
    from hookline.errors import HooklineError

    migrations, functions = tmp_path / "migrations", tmp_path / "functions"
    try:
        m = Migrator(dsn, migrations=migrations, functions=functions)
        if args[0] == "deploy":
            m.deploy()
        else:
            m.revert()
    except HooklineError as exc:
        return 1, str(exc)
    return 0, ""


def test_unreachable_database_is_one_line() -> None:
    run = hookline("db", "deploy", "--dsn", "postgresql://postgres@127.0.0.1:1/nope")
    assert run.returncode == 1
    assert run.stderr.startswith("hookline: cannot connect to 127.0.0.1:1/nope:")
    assert run.stderr.count("\n") == 1


def test_rejected_login_is_one_line_without_the_password(server: Server) -> None:
    # The test server trusts 127.0.0.1, so a role that does not exist is what it rejects.
    run = hookline(
        "db", "status", "--dsn", f"postgresql://nobody:sekret@127.0.0.1:{server.port}/postgres"
    )
    assert run.returncode == 1
    assert "cannot connect" in run.stderr and "sekret" not in run.stderr
    assert run.stderr.count("\n") == 1


def test_no_dsn_at_all_is_a_clear_error() -> None:
    run = hookline("db", "status")
    assert run.returncode == 1
    assert (
        run.stderr
        == "hookline: no database given: pass --dsn or set HOOKLINE_DSN (or DATABASE_URL)\n"
    )


def test_missing_script_names_change_and_file(tmp_path: Path, empty_db: str) -> None:
    copy_project(tmp_path)
    (tmp_path / "migrations" / "verify" / "table_events.sql").unlink()
    code, message = run_with(tmp_path, empty_db, "deploy")
    assert code == 1
    assert message.startswith("change table_events: missing verify script ")
    assert message.endswith("verify/table_events.sql")
    assert tables(empty_db) == set(), "nothing may be applied when a script is missing"


def test_unparsable_plan_line_names_file_and_line(tmp_path: Path, empty_db: str) -> None:
    copy_project(tmp_path)
    plan = tmp_path / "migrations" / "sqitch.plan"
    text = plan.read_text()
    plan.write_text(text + "this is not a change line\n")
    code, message = run_with(tmp_path, empty_db, "deploy")
    assert code == 1
    line = len(text.splitlines()) + 1
    assert f"sqitch.plan:{line}: cannot parse plan line: 'this is not a change line'" in message


def test_failing_verify_rolls_the_change_back(tmp_path: Path, empty_db: str) -> None:
    copy_project(tmp_path)
    verify = tmp_path / "migrations" / "verify" / "table_sources.sql"
    verify.write_text(verify.read_text().replace("from hookline.sources", "from hookline.no_such"))
    code, message = run_with(tmp_path, empty_db, "deploy")
    assert code == 1
    assert message.startswith("change table_sources: verify script ")
    assert 'relation "hookline.no_such" does not exist' in message
    assert "hookline.sources" not in tables(empty_db), "the failed change must be rolled back whole"
    assert "hookline.tenants" in tables(empty_db), "changes before it stay deployed"
    with psycopg.connect(empty_db) as conn:
        assert conn.execute(
            "select action from hookline_registry.events order by event_id desc limit 1"
        ).fetchone() == ("fail",)


def test_failing_revert_script_leaves_the_change_deployed(tmp_path: Path, empty_db: str) -> None:
    copy_project(tmp_path)
    Migrator(
        empty_db, migrations=tmp_path / "migrations", functions=tmp_path / "functions"
    ).deploy()
    last = read_plan(tmp_path / "migrations").changes[-1].name  # reverted first
    revert = tmp_path / "migrations" / "revert" / f"{last}.sql"
    revert.write_text(revert.read_text().replace("\nCOMMIT;", "\nselect 1/0;\nCOMMIT;"))
    code, message = run_with(tmp_path, empty_db, "revert")
    assert code == 1
    assert message.startswith(f"change {last}: revert script ")
    assert "division by zero" in message
    assert "hookline.event_keys" in tables(empty_db)
    assert Migrator(empty_db).status().pending == []


def test_revert_without_yes_and_no_terminal_refuses(db: str) -> None:
    run = hookline("db", "revert", "--dsn", db)
    assert run.returncode == 1
    assert "refusing to revert without -y" in run.stderr
    assert "hookline.events" in tables(db)


def test_deploy_to_an_unknown_change_is_an_error(empty_db: str) -> None:
    run = hookline("db", "deploy", "--to", "nope", "--dsn", empty_db)
    assert run.returncode == 1
    assert "no change named 'nope'" in run.stderr


@pytest.mark.parametrize("change", ["table_sources", "table_events"])
def test_partial_deploy_stops_at_the_change(empty_db: str, change: str) -> None:
    assert hookline("db", "deploy", "--to", change, "--dsn", empty_db).returncode == 0
    status = Migrator(empty_db).status()
    assert status.deployed[-1][0] == change
    assert status.functions_pending, "functions wait for the whole plan"
