"""The real sqitch deploys, verifies and reverts migrations/; with functions/ applied by psql
the schema equals what `hookline db deploy` builds."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

from tests.conftest import Server, require
from tests.helpers import ROOT, hookline, psql, schema_dump
from tests.ingress_helpers import running_ingress


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


def test_a_sqitch_deployed_database_serves_runner_ingress_and_status(
    server: Server, empty_db: str
) -> None:
    """docs/migrations.md: sqitch and psql deploy a schema the runner, the ingress and
    `hookline db status` accept, as they accept one that `hookline db deploy` built; one change
    the package does not know makes all three refuse with exit status 57."""
    require(shutil.which("sqitch") is not None, "sqitch (Debian package sqitch)")
    target = "db:pg://postgres@127.0.0.1:{}/{}".format(server.port, empty_db.rsplit("/", 1)[1])
    assert sqitch("deploy", "--verify", target=target).returncode == 0
    applied = psql(server.bindir, empty_db, "-f", str(ROOT / "functions" / "index.sql"))
    assert applied.returncode == 0, applied.stderr

    status = hookline("db", "status", "--json", "--dsn", empty_db)
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["version_from"] == "hookline.schema_changes"
    assert (shown["pending"], shown["functions_pending"], shown["unknown"]) == ([], [], [])

    with running_ingress(empty_db, Path(tempfile.mkstemp(suffix=".log")[1])) as ingress:
        assert httpx.get(f"{ingress.url}/healthz", timeout=5).status_code == 200
    runner = subprocess.Popen(
        [sys.executable, "-m", "hookline", "runner", "--dsn", empty_db, "--poll", "1", "--metrics-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    with psycopg.connect(empty_db, autocommit=True) as conn:
        while runner.poll() is None and not conn.execute(LISTENING).fetchone()[0]:
            time.sleep(0.05)
        runner.send_signal(signal.SIGTERM)
        out, _ = runner.communicate(timeout=60)
        assert runner.returncode == 0, out
        assert "stopped" in out

        other_tool = hookline("db", "deploy", "--dsn", empty_db)
        assert other_tool.returncode == 1
        assert "deployed by another tool (sqitch)" in other_tool.stderr

        conn.execute("insert into hookline.schema_changes (change) values ('from_the_future')")
    for args in (["db", "status"], ["runner"], ["ingress", "--port", "1"]):
        refused = hookline(*args, "--dsn", empty_db)
        assert refused.returncode == 57, (args, refused.stdout, refused.stderr)
        assert "from_the_future" in refused.stderr
        assert "upgrade hookline" in refused.stderr
        assert "Traceback" not in refused.stderr


LISTENING = """
select exists (select from pg_stat_activity
               where datname = current_database() and query ilike 'listen%')
"""


def test_a_release_deployed_by_sqitch_upgrades_to_the_schema_version(
    server: Server, empty_db: str
) -> None:
    """A database sqitch deployed at release v0.1.0 (before hookline.schema_changes) is read
    from sqitch's registry; the upgrade backfills the version, and the runner's check then
    passes with both tools' view of it agreeing."""
    require(shutil.which("sqitch") is not None, "sqitch (Debian package sqitch)")
    target = "db:pg://postgres@127.0.0.1:{}/{}".format(server.port, empty_db.rsplit("/", 1)[1])
    assert sqitch("deploy", "--to", "@v0.1.0", target=target).returncode == 0
    old = json.loads(hookline("db", "status", "--json", "--dsn", empty_db).stdout)
    assert old["version_from"] == "sqitch"
    assert old["pending"][0] == "table_schema_changes"
    refused = hookline("runner", "--dsn", empty_db)
    assert refused.returncode == 1
    assert "pending changes: table_schema_changes" in refused.stderr

    assert sqitch("deploy", target=target).returncode == 0
    applied = psql(server.bindir, empty_db, "-f", str(ROOT / "functions" / "index.sql"))
    assert applied.returncode == 0, applied.stderr
    new = json.loads(hookline("db", "status", "--json", "--dsn", empty_db).stdout)
    assert new["version_from"] == "hookline.schema_changes"
    assert (new["pending"], new["functions_pending"]) == ([], [])
    with psycopg.connect(empty_db) as conn:
        theirs = [
            c for (c,) in conn.execute("select change from sqitch.changes order by committed_at")
        ]
        ours = [c for (c,) in conn.execute("select change from hookline.schema_version()")]
    assert ours == theirs
