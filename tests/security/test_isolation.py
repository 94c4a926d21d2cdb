"""Two tenants' operators: neither can see, count, replay, discard, pause or infer the other's
rows through any view, function or error message. Connections log in as the operators."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from tests.security.conftest import PII, Tenants, as_role

VIEWS = ("dead_letter_queue", "live_deliveries", "endpoint_overview", "attempt_log", "event_log",
         "audit_trail")  # fmt: skip
TABLES = ("tenants", "sources", "endpoints", "subscriptions", "events", "raw_requests", "deliveries",
          "attempts", "dead_letters", "audit_log", "role_tenants", "event_keys", "jobs")  # fmt: skip


def on(template: str, relation: str) -> sql.Composed:
    """template with {} replaced by hookline.<relation>, quoted."""
    return sql.SQL(template).format(sql.Identifier("hookline", relation))  # type: ignore[arg-type]


def state_of(db: str) -> list[tuple]:
    with psycopg.connect(db) as conn:
        return conn.execute(
            """select 'live', delivery_id, state::text, generation from hookline.deliveries
               union all select 'dlq', delivery_id, state::text, generation from hookline.dead_letters
               union all select 'endpoint', endpoint_id, state, 0 from hookline.endpoints
               order by 1, 2"""
        ).fetchall()


def audit_count(db: str) -> int:
    with psycopg.connect(db) as conn:
        return conn.execute("select count(*) from hookline.audit_log").fetchone()[0]


@pytest.mark.parametrize("view", VIEWS)
def test_an_operator_sees_and_counts_only_its_tenant(
    db: str, two_tenants: Tenants, view: str
) -> None:
    with psycopg.connect(db) as owner:
        everything = owner.execute(
            on("select tenant_id, count(*) from {} group by 1", view)
        ).fetchall()
    assert {t for t, _n in everything} >= {"acme", "globex"}
    for login, tenant in (("alice", "acme"), ("bob", "globex")):
        with psycopg.connect(as_role(db, login)) as conn:
            seen = conn.execute(
                on("select tenant_id, count(*) from {} group by 1", view)
            ).fetchall()
            text = " ".join(str(r) for r in conn.execute(on("select * from {}", view)))
        assert seen == [(tenant, n) for t, n in everything if t == tenant]
        other = "globex" if tenant == "acme" else "acme"
        assert other not in text
        for value in PII[other] + PII[tenant]:
            assert value not in text, f"{view} shows {value!r}"


@pytest.mark.parametrize("table", TABLES)
def test_an_operator_cannot_touch_a_table(db: str, two_tenants: Tenants, table: str) -> None:
    with (
        psycopg.connect(as_role(db, "alice")) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(on("select count(*) from {}", table))


def test_another_tenants_delivery_is_unknown_to_replay_and_discard(
    db: str, two_tenants: Tenants
) -> None:
    before, audits = state_of(db), audit_count(db)
    theirs, missing = two_tenants.dead["globex"][0], 999999
    messages = {}
    with psycopg.connect(as_role(db, "alice"), autocommit=True) as conn:
        for fn in ("replay", "discard"):
            for target in (theirs, missing):
                with pytest.raises(psycopg.Error) as info:
                    conn.execute(f"select hookline.{fn}(array[%s::bigint])", (target,))
                assert info.value.sqlstate == "HL025"
                messages[fn, target] = (
                    str(info.value).replace(str(target), "ID"),
                    info.value.diag.message_hint,
                )
        with pytest.raises(psycopg.Error) as info:
            conn.execute(
                "select hookline.discard(array[%s::bigint])", (two_tenants.live["globex"][0],)
            )
        assert info.value.sqlstate == "HL025"
    assert messages["replay", theirs] == messages["replay", missing]
    assert messages["discard", theirs] == messages["discard", missing]
    assert state_of(db) == before
    assert audit_count(db) == audits


def test_a_mixed_batch_changes_nothing(db: str, two_tenants: Tenants) -> None:
    before = state_of(db)
    ids = two_tenants.dead["acme"] + two_tenants.dead["globex"]
    with (
        psycopg.connect(as_role(db, "alice"), autocommit=True) as conn,
        pytest.raises(psycopg.Error) as info,
    ):
        conn.execute("select hookline.replay(%s)", (ids,))
    assert info.value.sqlstate == "HL025"
    theirs = ", ".join(map(str, two_tenants.dead["globex"]))
    assert info.value.diag.message_primary == f"not in the dead-letter queue: {theirs}"
    assert state_of(db) == before


def test_another_tenants_endpoint_is_unknown_to_pause_and_resume(
    db: str, two_tenants: Tenants
) -> None:
    before = state_of(db)
    with psycopg.connect(as_role(db, "alice"), autocommit=True) as conn:
        for call in (
            "select hookline.pause_endpoint('globex-crm')",
            "select hookline.resume_endpoint('globex-crm')",
        ):
            with pytest.raises(psycopg.Error) as theirs:
                conn.execute(call)
            with pytest.raises(psycopg.Error) as missing:
                conn.execute(call.replace("globex-crm", "nope"))
            assert theirs.value.sqlstate == missing.value.sqlstate == "HL020"
            assert str(theirs.value).replace("globex-crm", "X") == str(missing.value).replace(
                "nope", "X"
            )
    assert state_of(db) == before


def test_an_operator_acts_on_its_own_tenant_and_is_on_record(db: str, two_tenants: Tenants) -> None:
    mine = two_tenants.dead["acme"]
    with psycopg.connect(as_role(db, "alice"), autocommit=True) as conn:
        replayed = [
            r[0]
            for r in conn.execute(
                "select hookline.replay(%s, reason => 'handler fixed')", (mine[:2],)
            )
        ]
        discarded = [r[0] for r in conn.execute("select hookline.discard(%s, 'spam')", (mine[2:],))]
        assert conn.execute(
            "select hookline.pause_endpoint('acme-crm', 'deploying')"
        ).fetchone() == ("paused",)
        rows = conn.execute(
            """select acting_role, session_user_name, action, tenant_id, target, reason, before, after
               from hookline.audit_trail where acting_role = 'alice' order by audit_id"""
        ).fetchall()
    assert (replayed, discarded) == (mine[:2], mine[2:])
    assert rows == [
        ("alice", "alice", "delivery.replay", "acme", summary(mine[:2]), "handler fixed",
         {"dead": 2, "discarded": 0}, {"pending": 2}),
        ("alice", "alice", "delivery.discard", "acme", summary(mine[2:]), "spam", {"dead": 1},
         {"discarded": 1}),
        ("alice", "alice", "endpoints.update", "acme", {"endpoint_id": 1}, "deploying",
         {"state": "active"}, {"state": "paused", "paused_reason": "deploying"}),
    ]  # fmt: skip


def test_setting_a_role_or_a_guc_does_not_cross_tenants(db: str, two_tenants: Tenants) -> None:
    with psycopg.connect(as_role(db, "alice"), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("set role globex_ops")
        conn.execute("set hookline.tenant = 'globex'")
        conn.execute("set app.tenant_id = 'globex'")
        seen = conn.execute("select distinct tenant_id from hookline.dead_letter_queue").fetchall()
    assert seen == [("acme",)]


def test_a_leaky_function_in_a_filter_sees_no_other_tenant(db: str, two_tenants: Tenants) -> None:
    """Views are security barriers: the caller's function runs after the tenant filter."""
    with psycopg.connect(as_role(db, "alice"), autocommit=True) as conn:
        conn.execute(
            """create function pg_temp.leak(t text) returns boolean language plpgsql cost 0.0000001 as
               $$ begin raise notice 'saw %', t; return true; end $$"""
        )
        notices: list[str] = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute(
            "select * from hookline.dead_letter_queue where pg_temp.leak(tenant_id)"
        ).fetchall()
    assert notices and set(notices) == {"saw acme"}


def test_readonly_without_a_mapping_sees_nothing_and_changes_nothing(
    db: str, two_tenants: Tenants
) -> None:
    with psycopg.connect(as_role(db, "reader"), autocommit=True) as conn:
        for view in VIEWS:
            assert conn.execute(on("select count(*) from {}", view)).fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select hookline.replay(%s)", (two_tenants.dead["acme"],))


def test_the_runner_and_the_ingress_reach_only_their_functions(
    db: str, two_tenants: Tenants
) -> None:
    with psycopg.connect(as_role(db, "worker"), autocommit=True) as conn:
        assert conn.execute(
            "select count(*) from hookline.claim('w', 100, '30 seconds', '2026-03-01 11:00Z')"
        ).fetchone() == (4,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select * from hookline.dead_letter_queue")
    with psycopg.connect(as_role(db, "ingress"), autocommit=True) as conn:
        assert conn.execute(
            "select kind from hookline.source_credentials('acme-wa')"
        ).fetchone() == ("whatsapp",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select hookline.claim('w', 1, '30 seconds')")


def summary(ids: list[int]) -> dict[str, object]:
    """The audit target of replay and discard by id: count, first and last id, the ids (<= 10)."""
    return {"count": len(ids), "first_id": ids[0], "last_id": ids[-1], "delivery_ids": ids}
