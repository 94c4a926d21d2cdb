"""The real sqitch deploys, verifies and reverts migrations/; with functions/ applied by psql
the schema equals what `hookline db deploy` builds."""

from __future__ import annotations

import shutil
import subprocess

from tests.conftest import Server, require
from tests.helpers import ROOT, hookline, psql, schema_dump


def sqitch(*args: str, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sqitch", *args, target], cwd=ROOT / "migrations", capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip


def test_sqitch_deploys_the_same_schema(server: Server, empty_db: str, other_empty_db: str) -> None:
    require(shutil.which("sqitch") is not None, "sqitch (Debian package sqitch)")
    target = "db:pg://postgres@127.0.0.1:{}/{}".format(server.port, empty_db.rsplit("/", 1)[1])

    deployed = sqitch("deploy", "--verify", target=target)
    assert deployed.returncode == 0, deployed.stderr
    assert sqitch("verify", target=target).returncode == 0
    applied = psql(server.bindir, empty_db, "-f", str(ROOT / "functions" / "index.sql"))
    assert applied.returncode == 0, applied.stderr

    assert hookline("db", "deploy", "--dsn", other_empty_db).returncode == 0
    ours = schema_dump(server.bindir, other_empty_db, "hookline_registry")
    theirs = schema_dump(server.bindir, empty_db, "sqitch")
    assert theirs == ours

    uninstall = psql(server.bindir, empty_db, "-f", str(ROOT / "functions" / "uninstall.sql"))
    assert uninstall.returncode == 0, uninstall.stderr
    reverted = sqitch("revert", "-y", target=target)
    assert reverted.returncode == 0, reverted.stderr
    assert "CREATE TABLE" not in schema_dump(server.bindir, empty_db, "sqitch")


def test_a_sqitch_deployed_database_shows_no_hookline_registry(
    server: Server, empty_db: str
) -> None:
    """A database deployed by sqitch has no hookline registry: `db status` says so plainly."""
    require(shutil.which("sqitch") is not None, "sqitch (Debian package sqitch)")
    target = "db:pg://postgres@127.0.0.1:{}/{}".format(server.port, empty_db.rsplit("/", 1)[1])
    assert sqitch("deploy", target=target).returncode == 0
    out = hookline("db", "status", "--dsn", empty_db).stdout
    assert "deployed: 0 change(s)" in out
