"""Every operator and admin action of the CLI takes --reason and writes exactly one row of the
hash-chained audit log, with the login role, the acting role and that reason.

The walk covers the whole click tree: a command must either have a scenario step below or be
named in NOT_AUDITED with the reason; a new command fails here until it is classified."""

from __future__ import annotations

import psycopg
from click.testing import CliRunner

from hookline.cli import main
from tests.cli_tree import leaf_commands

READS = {"list", "show", "status", "plan", "verify", "stats"}
NOT_AUDITED = {
    ("db", "deploy"): "schema changes: recorded in hookline_registry.events and schema_changes",
    ("db", "revert"): "schema changes: recorded in hookline_registry.events",
    ("runner",): "a service",
    ("ingress",): "a service",
    ("up",): "a service",
    ("cron", "run"): "runs a job: recorded in the job's run history",
    ("cron", "register"): "hands the jobs to pg_cron (its own catalog)",
    ("cron", "unregister"): "hands the jobs back from pg_cron (its own catalog)",
    ("audit", "anchor"): "reads the chain and writes its head to a file outside the database",
    ("secrets", "new-key"): "writes a key file; touches no database",
    ("secrets", "rekey"): "re-seals secrets under the newest key: hookline.reseal_secrets writes "
    "its own audit row (tests/security/test_secrets.py)",
}

ENV = {"S1": "first-secret", "S2": "second-secret", "T1": "token-0123456789",
       "T2": "token-9876543210"}  # fmt: skip


def scenario(db: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """(command, arguments) in an order in which each one can succeed; each also gets
    --reason."""
    with psycopg.connect(db) as conn:
        job = conn.execute("select min(job_name) from hookline.jobs").fetchone()[0]
    return [
        (("sources", "add"), ["wa", "--tenant", "acme", "--secret-env", "S1"]),
        (("sources", "rotate-secret"), ["wa", "--secret-env", "S2"]),
        (("endpoints", "add"), ["crm", "--tenant", "acme", "--url", "http://127.0.0.1:9/h"]),
        (("subscriptions", "add"), ["crm", "*"]),
        (("endpoints", "set"), ["crm", "--timeout-ms", "5000"]),
        (("endpoints", "rotate-secret"), ["crm"]),
        (("endpoints", "rotate-secret"), ["crm", "--finish"]),
        (("endpoints", "pause"), ["crm"]),
        (("endpoints", "resume"), ["crm"]),
        (("senders", "add"), ["1111", "--source", "wa", "--token-env", "T1"]),
        (("senders", "set"), ["1111", "--rotate-token", "--token-env", "T2"]),
        (("senders", "pause"), ["1111"]),
        (("senders", "resume"), ["1111"]),
        (("breakers", "set"), ["sender:1111", "open"]),
        (("cron", "schedule"), [job, "*/7 * * * *"]),
        (("tenants", "grant"), ["hookline_readonly", "acme"]),
        (("tenants", "revoke"), ["hookline_readonly", "acme"]),
        (("tenants", "allow-http"), ["acme"]),
        (("tenants", "dead-letter-retention"), ["acme", "10 days"]),
        (("dlq", "discard"), ["{delivery}"]),
        (("dlq", "replay"), ["{delivery}"]),
        (("subscriptions", "remove"), ["{subscription}"]),
        (("endpoints", "remove"), ["spare"]),
        (("sources", "remove"), ["spare-src", "-y"]),
    ]


def test_every_mutating_command_writes_one_audit_row(db: str) -> None:
    steps = scenario(db)
    walked = {path for path, _args in steps}
    unclassified = [
        " ".join(path)
        for path, _cmd in leaf_commands()
        if path not in walked and path not in NOT_AUDITED and path[-1] not in READS
    ]
    assert unclassified == [], (
        f"add these commands to the audit walk (or NOT_AUDITED): {unclassified}"
    )

    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(
            "select hookline.add_source('acme', 'spare-src', 'whatsapp', 'x', create_tenant => true)"
        )
        conn.execute("select hookline.add_endpoint('acme', 'spare', 'http://127.0.0.1:9/s')")
        ids = {
            "subscription": str(
                conn.execute("select hookline.add_subscription('spare', 'never.*')").fetchone()[0]
            )
        }
        login = conn.execute("select session_user").fetchone()[0]
        runner = CliRunner()
        for n, (path, args) in enumerate(steps):
            reason = f"reason {n}: {' '.join(path)}"
            if path == ("dlq", "discard"):
                conn.execute(
                    "select hookline.ingest('wa', 'e1', 'whatsapp.message.text', '{}'::jsonb)"
                )
                ids["delivery"] = str(
                    conn.execute("select max(delivery_id) from hookline.deliveries").fetchone()[0]
                )
            before = conn.execute(
                "select coalesce(max(audit_id), 0) from hookline.audit_log"
            ).fetchone()[0]
            argv = [*path, *(a.format(**ids) for a in args), "--reason", reason, "--dsn", db]
            result = runner.invoke(main, argv, env=ENV)
            assert result.exit_code == 0, (argv, result.output)
            rows = conn.execute(
                "select action, session_user_name, acting_role, reason from hookline.audit_log "
                "where audit_id > %s order by audit_id",
                (before,),
            ).fetchall()
            assert len(rows) == 1, (path, rows)
            _action, session_user, acting_role, recorded_reason = rows[0]
            assert (session_user, acting_role, recorded_reason) == (login, login, reason), rows
        assert conn.execute("select count(*) from hookline.verify_audit()").fetchone()[0] == 0
