"""Every operator and admin action of the CLI writes exactly one row of the hash-chained audit
log, with the login role, the acting role and the reason given (docs/security.md).

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
}

ENV = {"S1": "first-secret", "S2": "second-secret", "T1": "token-0123456789",
       "T2": "token-9876543210"}  # fmt: skip


def scenario(db: str) -> list[tuple[tuple[str, ...], list[str], str | None]]:
    """(command, arguments, reason given) in an order in which each one can succeed."""
    with psycopg.connect(db) as conn:
        job = conn.execute("select min(job_name) from hookline.jobs").fetchone()[0]
    return [
        (("sources", "add"), ["wa", "--tenant", "acme", "--secret-env", "S1"], None),
        (("sources", "rotate-secret"), ["wa", "--secret-env", "S2"], None),
        (("endpoints", "add"), ["crm", "--tenant", "acme", "--url", "http://127.0.0.1:9/h"], None),
        (("subscriptions", "add"), ["crm", "*"], None),
        (("endpoints", "pause"), ["crm", "--reason", "maintenance"], "maintenance"),
        (("endpoints", "resume"), ["crm", "--reason", "done"], "done"),
        (
            ("senders", "add"),
            ["1111", "--source", "wa", "--token-env", "T1", "--reason", "onboarding"],
            "onboarding",
        ),
        (
            ("senders", "set"),
            ["1111", "--rotate-token", "--token-env", "T2", "--reason", "leak"],
            "leak",
        ),
        (("senders", "pause"), ["1111", "--reason", "spam"], "spam"),
        (("senders", "resume"), ["1111", "--reason", "cleared"], "cleared"),
        (("breakers", "set"), ["sender:1111", "open", "--reason", "drill"], "drill"),
        (("cron", "schedule"), [job, "*/7 * * * *"], None),
        (("tenants", "grant"), ["hookline_readonly", "acme", "--reason", "audit"], "audit"),
        (("tenants", "revoke"), ["hookline_readonly", "acme", "--reason", "over"], "over"),
        (("tenants", "allow-http"), ["acme", "--reason", "lab"], "lab"),
        (("dlq", "discard"), ["{delivery}", "--reason", "noise"], "noise"),
        (("dlq", "replay"), ["{delivery}", "--reason", "fixed"], "fixed"),
        (("subscriptions", "remove"), ["{subscription}"], None),
        (("endpoints", "remove"), ["spare"], None),
        (("sources", "remove"), ["spare-src", "-y"], None),
    ]


def test_every_mutating_command_writes_one_audit_row(db: str) -> None:
    steps = scenario(db)
    walked = {path for path, _args, _reason in steps}
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
        for path, args, reason in steps:
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
            argv = [*path, *(a.format(**ids) for a in args), "--dsn", db]
            result = runner.invoke(main, argv, env=ENV)
            assert result.exit_code == 0, (argv, result.output)
            rows = conn.execute(
                "select action, session_user_name, acting_role, reason from hookline.audit_log "
                "where audit_id > %s order by audit_id",
                (before,),
            ).fetchall()
            assert len(rows) == 1, (path, rows)
            _action, session_user, acting_role, recorded_reason = rows[0]
            assert (session_user, acting_role) == (login, login), path
            if reason is not None:
                assert recorded_reason == reason, (path, rows[0])
        assert conn.execute("select count(*) from hookline.verify_audit()").fetchone()[0] == 0
