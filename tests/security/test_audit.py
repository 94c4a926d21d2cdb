"""The audit log: append-only for every role (the owner and its functions too), and a hash
chain that `hookline audit verify` checks, so a superuser's deletion or edit shows."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from tests.helpers import hookline
from tests.security.conftest import Tenants


@pytest.mark.parametrize(
    "statement",
    ["update hookline.audit_log set reason = 'nothing happened'", "delete from hookline.audit_log",
     "truncate hookline.audit_log"],
)  # fmt: skip
def test_not_even_the_owner_can_change_audit_rows(conn: psycopg.Connection, tenant_source: str,
                                                  statement: str) -> None:  # fmt: skip
    before = conn.execute(
        "select count(*), string_agg(encode(hash, 'hex'), ',' order by audit_id) from hookline.audit_log"
    ).fetchone()
    assert before[0] > 0
    with pytest.raises(psycopg.Error) as info:
        conn.execute(statement)
    assert info.value.sqlstate == "HL080"
    conn.execute(
        """create function public.scrub() returns void language plpgsql security definer
           set search_path = '' as $$ begin delete from hookline.audit_log; end $$"""
    )
    with pytest.raises(psycopg.Error) as info:
        conn.execute("select public.scrub()")
    assert info.value.sqlstate == "HL080"
    assert (
        conn.execute(
            "select count(*), string_agg(encode(hash, 'hex'), ',' order by audit_id) from hookline.audit_log"
        ).fetchone()
        == before
    )


def test_verify_passes_an_intact_log(db: str, two_tenants: Tenants) -> None:
    run = hookline("audit", "verify", "--dsn", db)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("audit log intact: ")


def tamper(db: str, *statements: str) -> None:
    """As a superuser who knows how to get past the triggers and the constraint."""
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("set session_replication_role = replica")
        for statement in statements:
            conn.execute(statement)


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (["delete from hookline.audit_log where audit_id = 3"],
         "audit row 4: the row before this one was deleted or altered"),
        (["delete from hookline.audit_log where audit_id <= 2"], "audit row 3: rows before this one were deleted"),
        (["delete from hookline.audit_log where audit_id = (select max(audit_id) from hookline.audit_log)"],
         "the newest rows were deleted"),
        (["alter table hookline.audit_log drop constraint audit_log_hash_matches",
          "update hookline.audit_log set reason = 'routine' where audit_id = 5"],
         "audit row 5: altered: the row does not match its hash"),
        # A careful forger recomputes the row's own hash; the next row's link gives it away.
        (["update hookline.audit_log set reason = 'routine', hash = hookline._audit_hash(prev_hash, audit_id,"
          " recorded_at, session_user_name, current_user_name, acting_role, action, tenant_id, target,"
          " 'routine', before, after) where audit_id = 5"],
         "audit row 6: the row before this one was deleted or altered"),
    ],
    ids=["deleted", "deleted-first", "deleted-newest", "altered", "altered-and-rehashed"],
)  # fmt: skip
def test_verify_detects_a_superusers_tampering(db: str, two_tenants: Tenants, statements: list[str],
                                               expected: str) -> None:  # fmt: skip
    tamper(db, *statements)
    run = hookline("audit", "verify", "--dsn", db)
    assert run.returncode == 1
    assert any(expected in line for line in run.stdout.splitlines()), run.stdout
    assert "the audit log was tampered with" in run.stderr


def test_secret_rotation_and_schedule_changes_are_on_record_without_secrets(
    conn: psycopg.Connection, tenant_source: str
) -> None:
    conn.execute("select hookline.rotate_secret('acme-wa', 'new-app-secret')")
    conn.execute("select hookline.retire_secret('acme-wa')")
    conn.execute("select hookline.set_job('apply_retention', '5 4 * * *')")
    rows = conn.execute(
        """select action, target, before, after from hookline.audit_log
           where action in ('sources.update', 'jobs.update') order by audit_id"""
    ).fetchall()
    assert [(a, t) for a, t, _b, _af in rows] == [
        ("sources.update", {"source_id": 1}), ("sources.update", {"source_id": 1}),
        ("jobs.update", {"job_name": "apply_retention"}),
    ]  # fmt: skip
    # A new schedule also restarts the job's stale-job clock (scheduled_since).
    before, after = rows[2][2:]
    stamps = [dt.datetime.fromisoformat(x.pop("scheduled_since")) for x in (before, after)]
    assert stamps[0] < stamps[1]
    assert (before, after) == ({"schedule": "37 * * * *"}, {"schedule": "5 4 * * *"})
    text = str(rows)
    assert "new-app-secret" not in text and "app-secret" not in text.replace("sha256:", "")
    assert rows[0][2]["signing_secrets"].startswith("sha256:")
