"""Collects every tests/sql/<function>/<behaviour>.test.sql and runs it with psql on a fresh
clone of the schema. A file passes when psql succeeds and its TAP output has no `not ok`
and as many `ok` lines as its plan announced."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Server, require
from tests.helpers import psql

HERE = Path(__file__).parent
FILES = sorted(HERE.rglob("*.test.sql"))


def test_there_are_pgtap_files() -> None:
    assert FILES, "no tests/sql/**/*.test.sql found"


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(HERE)) for p in FILES])
def test_pgtap(path: Path, server: Server, db: str) -> None:
    require(server.has_pgtap, "pgTAP (postgresql-15-pgtap)")
    run = psql(server.bindir, db, "-t", "-A", "-f", str(path))
    out = run.stdout
    assert run.returncode == 0, f"psql failed:\n{run.stderr}\n{out}"
    plan = re.search(r"^1\.\.(\d+)$", out, re.MULTILINE)
    assert plan, f"no TAP plan in output:\n{out}"
    failed = [line for line in out.splitlines() if line.startswith("not ok")]
    assert not failed, "\n".join(failed) + "\n\n" + out
    passed = [line for line in out.splitlines() if re.match(r"^ok \d+", line)]
    assert len(passed) == int(plan[1]), f"planned {plan[1]}, passed {len(passed)}:\n{out}"
