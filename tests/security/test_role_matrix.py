"""Every operator command and sql/ query as the owner, an operator and a read-only role: it
works where docs/security.md says the role may use it, and anywhere else it refuses in one
line (never a traceback)."""

from __future__ import annotations

import psycopg
import pytest
from click.testing import CliRunner

from hookline.cli import main
from tests.conftest import Server
from tests.helpers import ROOT, psql
from tests.security.conftest import Tenants, as_role

ROLES = {"owner": None, "operator": "alice", "readonly": "reader"}
ALL, OPERATORS = {"owner", "operator", "readonly"}, {"owner", "operator"}

# (arguments, the roles it must work for); {dead} is a dead delivery of acme's. The others
# must refuse in one line. Writes come last: each role runs on its own database.
COMMANDS: list[tuple[str, set[str]]] = [
    ("cron list", ALL),
    ("stats", ALL),
    ("dlq list", ALL),
    ("dlq list --event-type whatsapp.message.* --until 2100-01-01", ALL),
    ("dlq show {dead}", ALL),
    ("dlq replay --all --dry-run --reason check", ALL),  # counts only
    ("audit list", ALL),
    ("endpoints list", ALL),
    ("endpoints show acme-crm", ALL),
    ("subscriptions list", {"owner"}),
    ("sources list", {"owner"}),
    ("senders list", {"owner"}),
    ("breakers list", {"owner"}),
    ("audit verify", {"owner"}),
    ("cron run snapshot_stats", {"owner"}),
    ("endpoints set acme-crm --timeout-ms 5000 --reason check", OPERATORS),
    ("endpoints pause acme-crm --reason check", OPERATORS),
    ("endpoints resume acme-crm --reason check", OPERATORS),
    ("dlq replay {dead} --reason check", OPERATORS),
]


@pytest.mark.parametrize("role", ROLES)
def test_every_command_works_for_its_roles_and_refuses_the_others_in_one_line(
    db: str, two_tenants: Tenants, role: str
) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select hookline.grant_tenant('reader', 'acme')")
    dsn = as_role(db, ROLES[role]) if ROLES[role] else db
    wrong = []
    for command, allowed in COMMANDS:
        args = command.format(dead=two_tenants.dead["acme"][0]).split()
        run = CliRunner().invoke(main, [*args, "--dsn", dsn])
        if run.exception is not None and not isinstance(run.exception, SystemExit):
            wrong.append(f"{command}: {type(run.exception).__name__}: {run.exception}")
        elif (run.exit_code == 0) != (role in allowed):
            wrong.append(f"{command}: exit {run.exit_code}: {run.stderr.strip()}")
        elif run.exit_code != 0 and not (
            run.stderr.startswith("hookline: ") and run.stderr.count("\n") == 1
        ):
            wrong.append(f"{command}: not one line: {run.stderr!r}")
    assert wrong == []


SQL_FILES = sorted(p.name for p in (ROOT / "sql").glob("*.sql"))


@pytest.mark.parametrize("role", ROLES)
def test_every_sql_query_runs_for_every_role(
    server: Server, db: str, two_tenants: Tenants, role: str
) -> None:
    dsn = as_role(db, ROLES[role]) if ROLES[role] else db
    failed = {}
    for name in SQL_FILES:
        run = psql(server.bindir, dsn, "-A", "-f", str(ROOT / "sql" / name))
        if run.returncode != 0:
            failed[name] = run.stderr.strip()
    assert failed == {}


def test_partitions_lists_tables_not_indexes(server: Server, db: str) -> None:
    run = psql(server.bindir, db, "-A", "-t", "-F", "|", "-f", str(ROOT / "sql" / "partitions.sql"))
    assert run.returncode == 0, run.stderr
    tables = {line.split("|")[0] for line in run.stdout.splitlines() if "|" in line}
    assert tables == {"attempts", "events", "raw_requests", "stats_snapshots"}
