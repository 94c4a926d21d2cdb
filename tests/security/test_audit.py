"""The audit log: append-only for every role (the owner and its functions too), and a hash
chain that `hookline audit verify` checks, so a superuser's deletion or edit shows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

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
    assert "new-app-secret" not in text and "app-secret" not in text.replace("keyed:", "")
    assert rows[0][2]["signing_secrets"].startswith("keyed:")


def rewrite_chain_from(db: str, audit_id: int) -> None:
    """A superuser edits row audit_id and recomputes every later hash and the head: the chain
    is valid again, and `audit verify` alone cannot tell."""
    tamper(db, f"set hookline_test.rewrite_from = {int(audit_id)}", """
        do $$
        declare
          r record;
          v_prev bytea;
        begin
          for r in select * from hookline.audit_log where audit_id >= current_setting('hookline_test.rewrite_from')::bigint order by audit_id loop
            select l.hash into v_prev from hookline.audit_log l where l.audit_id < r.audit_id
            order by l.audit_id desc limit 1;
            update hookline.audit_log set reason = 'routine', prev_hash = v_prev,
              hash = hookline._audit_hash(v_prev, r.audit_id, r.recorded_at, r.session_user_name,
                r.current_user_name, r.acting_role, r.action, r.tenant_id, r.target, 'routine', r.before, r.after)
            where audit_id = r.audit_id;
          end loop;
          update hookline.audit_head set hash = (select hash from hookline.audit_log order by audit_id desc limit 1);
        end
        $$""")  # fmt: skip


def test_an_anchor_catches_a_rewritten_chain_up_to_it(
    db: str, two_tenants: Tenants, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors"
    run = hookline("audit", "anchor", "--to", str(anchors), "--dsn", db)
    assert run.returncode == 0, run.stderr
    (line,) = anchors.read_text().splitlines()
    assert line == run.stdout.strip() and line.startswith("#")
    rewrite_chain_from(db, 5)
    assert hookline("audit", "verify", "--dsn", db).returncode == 0  # without the anchor: unseen
    run = hookline("audit", "verify", "--against", str(anchors), "--dsn", db)
    assert run.returncode == 1
    newest = int(line.split()[0][1:])
    assert (
        f"audit row {newest}: its hash differs from the anchor (rows up to it were rewritten)"
        in run.stdout
    )


def test_an_anchor_vouches_only_for_the_rows_up_to_it(
    db: str, two_tenants: Tenants, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors"
    assert hookline("audit", "anchor", "--to", str(anchors), "--dsn", db).returncode == 0
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("select hookline.pause_endpoint('acme-crm', 'after the anchor')")
        newest = conn.execute("select max(audit_id) from hookline.audit_log").fetchone()[0]
    ok = hookline("audit", "verify", "--against", str(anchors), "--dsn", db)
    assert ok.returncode == 0 and ok.stdout.rstrip().endswith("; 1 anchor(s) match")
    rewrite_chain_from(db, newest)  # the documented limit: anchor often
    assert hookline("audit", "verify", "--against", str(anchors), "--dsn", db).returncode == 0
    tamper(db, "delete from hookline.audit_log where audit_id >= 3",
           "update hookline.audit_head set audit_id = 2, hash = (select hash from hookline.audit_log where audit_id = 2)")  # fmt: skip
    gone = hookline("audit", "verify", "--against", str(anchors), "--dsn", db)
    assert gone.returncode == 1 and "anchored, and gone (rows were deleted)" in gone.stdout


def test_a_file_that_is_not_an_anchor_file_is_refused(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "anchors"
    bad.write_text("hello\n")
    run = hookline("audit", "verify", "--against", str(bad), "--dsn", db)
    assert (
        run.returncode == 1 and run.stderr.strip() == f"hookline: {bad} line 1: not an audit anchor"
    )
