"""The project's shape rules, checked on files and on the deployed catalog."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

from hookline.migrator import read_function_index
from hookline.plan import read_plan
from tests.helpers import ROOT

PLAN = read_plan(ROOT / "migrations")
# function_: a function that a view, policy or trigger needs (migrations own it, not functions/).
KINDS = ("schema_", "role_", "type_", "table_", "index_", "partition_", "cron_", "grant_", "view_",
         "function_")  # fmt: skip
HEADER = {"deploy": "-- Deploy hookline:{} to pg", "revert": "-- Revert hookline:{} from pg",
          "verify": "-- Verify hookline:{} from pg"}  # fmt: skip
WRAP = {"deploy": "COMMIT;", "revert": "COMMIT;", "verify": "ROLLBACK;"}


@pytest.mark.parametrize("change", PLAN.changes, ids=lambda c: c.name)
def test_change_scripts_have_sqitch_headers(change) -> None:
    assert change.name.startswith(KINDS), f"{change.name}: name must start with the object kind"
    for kind, header in HEADER.items():
        text = (ROOT / "migrations" / kind / f"{change.name}.sql").read_text()
        lines = text.splitlines()
        assert lines[0] == header.format(change.name), f"{kind}/{change.name}.sql header"
        assert "BEGIN;" in lines, f"{kind}/{change.name}.sql must open with BEGIN;"
        assert lines[-1] == WRAP[kind], f"{kind}/{change.name}.sql must end with {WRAP[kind]}"
        if kind == "deploy":
            requires = [
                ln.removeprefix("-- requires: ") for ln in lines if ln.startswith("-- requires: ")
            ]
            assert requires == list(change.requires), f"deploy/{change.name}.sql requires lines"


def test_no_script_outside_the_plan() -> None:
    planned = {c.name for c in PLAN.changes}
    for kind in HEADER:
        files = {p.stem for p in (ROOT / "migrations" / kind).glob("*.sql")}
        assert files == planned, f"migrations/{kind}/ differs from the plan"


def test_function_index_names_every_file_once() -> None:
    indexed = [f.path.name for f in read_function_index(ROOT / "functions")]
    present = {p.name for p in (ROOT / "functions").glob("*.sql")} - {"index.sql", "uninstall.sql"}
    assert len(indexed) == len(set(indexed)), "a file is listed twice in functions/index.sql"
    assert set(indexed) == present, "functions/index.sql and the files of functions/ differ"


@pytest.mark.parametrize("path", sorted((ROOT / "functions").glob("*.sql")), ids=lambda p: p.name)
def test_a_function_file_defines_its_namesake(path: Path) -> None:
    if path.name in ("index.sql", "uninstall.sql"):
        return
    defined = re.findall(r"create or replace function (hookline\.\w+)\(", path.read_text())
    assert defined == [f"hookline.{path.stem}"]


def test_every_function_pins_an_empty_search_path(conn: psycopg.Connection) -> None:
    """Except an SQL function the planner must inline (a SET clause forbids inlining): its
    comment starts with "Inlinable" ("Migration-owned. Inlinable" for one a migration owns) and
    it may not be SECURITY DEFINER."""
    loose = conn.execute(
        """select p.oid::regprocedure::text from pg_proc p
           where p.pronamespace = 'hookline'::regnamespace
             and not coalesce('search_path=""' = any(p.proconfig), false)
             and not (p.prolang = (select oid from pg_language where lanname = 'sql')
                      and not p.prosecdef
                      and (obj_description(p.oid, 'pg_proc') like 'Inlinable%'
                           or obj_description(p.oid, 'pg_proc') like 'Migration-owned. Inlinable%'))"""
    ).fetchall()
    assert loose == []


def test_a_function_that_disables_a_plan_node_disables_jit(conn: psycopg.Connection) -> None:
    """A node that `enable_seqscan = off` (or another enable_*) forbids still costs 10^10 where
    the planner has no other way, far past jit_above_cost: a plan with one is JIT-compiled on
    every call (0.5 s for a read of five rows in tests/security/test_inference.py's session)."""
    loose = conn.execute(
        """select p.oid::regprocedure::text from pg_proc p
           where p.pronamespace = 'hookline'::regnamespace
             and exists (select from unnest(p.proconfig) c where c ~ '^enable_\\w+=off$')
             and not 'jit=off' = any(p.proconfig)"""
    ).fetchall()
    assert loose == []


def test_every_object_has_a_comment(conn: psycopg.Connection) -> None:
    missing = conn.execute(
        """select c.oid::regclass::text from pg_class c
           where c.relnamespace = 'hookline'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
             and c.relname !~ '_p\\d{8}$' and obj_description(c.oid, 'pg_class') is null
           union all
           select a.attrelid::regclass::text || '.' || a.attname from pg_attribute a
           join pg_class c on c.oid = a.attrelid
           where c.relnamespace = 'hookline'::regnamespace and c.relkind in ('r', 'p', 'v')
             and c.relispartition is false and a.attnum > 0 and not a.attisdropped
             and col_description(a.attrelid, a.attnum) is null
           union all
           select p.oid::regprocedure::text from pg_proc p
           where p.pronamespace = 'hookline'::regnamespace and obj_description(p.oid, 'pg_proc') is null"""
    ).fetchall()
    assert missing == []


def test_file_paths_named_in_docs_exist() -> None:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    pattern = re.compile(
        r"`((?:migrations|functions|sql|docs|tests|python_runner|benchmarks|\.ci)/[\w./-]+)`"
    )
    missing = [
        f"{doc.relative_to(ROOT)}: {path}"
        for doc in docs
        for path in pattern.findall(doc.read_text())
        if "*" not in path and not (ROOT / path).exists()
    ]
    assert missing == []


@pytest.mark.parametrize(
    "change",
    PLAN.changes[PLAN.index("table_schema_changes") + 1 :],
    ids=lambda c: c.name,
)
def test_a_change_records_itself_in_the_schema_version(change) -> None:
    """docs/migrations.md: each change after table_schema_changes inserts its row of
    hookline.schema_changes in its deploy script and deletes it in its revert script."""
    top = ROOT / "migrations"
    deploy = (top / "deploy" / f"{change.name}.sql").read_text()
    revert = (top / "revert" / f"{change.name}.sql").read_text()
    records = re.compile(r"insert into hookline\.schema_changes \(change\) values \('(\w+)'\);")
    forgets = re.compile(r"delete from hookline\.schema_changes where change = '(\w+)';")
    assert records.findall(deploy) == [change.name], f"deploy/{change.name}.sql"
    assert forgets.findall(revert) == [change.name], f"revert/{change.name}.sql"
