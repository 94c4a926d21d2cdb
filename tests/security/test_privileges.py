"""The role x object privilege matrix, written down, and the catalog rules that keep it.

A grant that widens (or a new object that is reachable) fails here; so does a new table
with a tenant_id and no forced row level security, a SECURITY DEFINER function nobody
listed, or a function any role may call by default.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.helpers import ROOT

ROLES = ("hookline_ingest", "hookline_runner", "hookline_operator", "hookline_readonly")

# Every role may evaluate the visibility and masking helpers the policies and views use;
# they reveal nothing but the caller's own scope.
HELPERS = {"_caller", "_sees_all_tenants", "_mapped_tenants", "_tenant_visible",
           "masking_rules", "mask_text", "mask_phone", "mask_payload", "mask_json",
           "schema_version"}  # fmt: skip

# The functions behind the operator views (the views call them with the caller's rights).
VIEW_ROWS = {f"_{v}_rows" for v in ("dead_letter_queue", "live_deliveries", "endpoint_overview",
             "attempt_log", "event_log", "audit_trail", "circuit_states", "outbox_messages")}  # fmt: skip

# The views' rows by key (the CLI's dead letter, event, attempts, audit page, endpoint): the
# same rows, columns and masking, looked up by index inside the function; and their counts
# (stats, the sql/ overviews): the tables grouped for the caller's tenants, nothing masked.
KEYED_ROWS = {"dead_letter_rows", "event_log_rows", "attempt_log_rows", "audit_trail_page",
              "live_delivery_rows", "endpoint_overview_rows", "outbox_message_rows",
              "live_delivery_totals", "dead_letter_totals", "attempt_totals", "attempt_window_totals",
              "outbox_totals", "circuit_state_rows"}  # fmt: skip

# Job health (cron list, stats, metrics): names and staleness of jobs, no tenant data.
JOB_HEALTH = {"_cron_job_name", "stale_jobs"}

EXECUTE = {
    "hookline_ingest": HELPERS | {"ingest", "ingest_many", "receive", "receive_many", "source_credentials"},
    "hookline_runner": HELPERS | {"claim", "complete", "release", "next_due", "run_job", "job_status",
                                  "claim_messages", "complete_messages", "release_messages",
                                  "next_message_due", "metric_gauges"} | JOB_HEALTH,
    "hookline_operator": HELPERS | VIEW_ROWS | KEYED_ROWS | {"replay", "discard", "pause_endpoint", "resume_endpoint",
                                                "job_status", "metric_gauges", "set_endpoint",
                                                "set_dead_letter_retention", "dead_letter_page"} | JOB_HEALTH,
    "hookline_readonly": HELPERS | VIEW_ROWS | KEYED_ROWS | {"job_status", "metric_gauges", "dead_letter_page"} | JOB_HEALTH,
}  # fmt: skip

VIEWS = {"dead_letter_queue", "live_deliveries", "endpoint_overview", "attempt_log", "event_log",
         "audit_trail", "circuit_states", "outbox_messages"}  # fmt: skip

# (relation, privilege) each role holds in schema hookline: views, select only; no table.
RELATIONS = {
    "hookline_ingest": set(),
    "hookline_runner": set(),
    "hookline_operator": {(v, "SELECT") for v in VIEWS},
    "hookline_readonly": {(v, "SELECT") for v in VIEWS},
}

# Each SECURITY DEFINER function and why it needs its owner's rights.
DEFINER = (
    {
        "_mapped_tenants": "reads the role mapping, which no caller may read; returns the caller's own tenants",
        "ingest": "the ingress stores events without table privileges",
        "ingest_many": "the ingress stores batches of events without table privileges",
        "receive": "the ingress stores requests without table privileges",
        "receive_many": "the ingress stores groups of requests without table privileges",
        "source_credentials": "the ingress reads a source's secrets without table privileges",
        "claim": "runners lease deliveries without table privileges",
        "complete": "runners record outcomes without table privileges",
        "release": "runners give back leases without table privileges",
        "next_due": "runners learn when work is due without table privileges",
        "claim_messages": "runners lease outbox messages without table privileges",
        "complete_messages": "runners record send outcomes without table privileges",
        "release_messages": "runners give back outbox leases without table privileges",
        "next_message_due": "runners learn when a message is due without table privileges",
        "send_message": "handlers (roles the DBA grants it to) queue replies without table privileges",
        "run_job": "runners fire jobs without table privileges",
        "job_status": "runners and operators read job runs without table privileges",
        "metric_gauges": "runners serve, operators and read-only roles read the gauges without table privileges",
        "replay": "operators act on their tenants' dead letters without table privileges",
        "discard": "operators act on their tenants' deliveries without table privileges",
        "pause_endpoint": "operators pause their tenants' endpoints without table privileges",
        "resume_endpoint": "operators resume their tenants' endpoints without table privileges",
        "set_endpoint": "operators change their tenants' endpoints without table privileges",
        "set_dead_letter_retention": "operators set their tenants' dead-letter retention without table privileges",
        "dead_letter_page": "operators and read-only roles page their tenants' dead letters by the primary key",
        "stale_jobs": "runners, operators and read-only roles read job health without table privileges",
        "schema_version": "every role reads the schema version (hookline.schema_changes) without table privileges",
    }
    | {
        name: "an operator view's rows, filtered by the caller's tenants before any caller predicate"
        for name in VIEW_ROWS
    }
    | {
        name: "an operator view's rows by key, filtered by the caller's tenants, looked up by index before masking"
        for name in KEYED_ROWS
    }
)

# Tables with a tenant_id that need no policy, and why.
NO_POLICY = {"role_tenants": "the mapping itself: owner only, read by hookline._mapped_tenants"}

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_executes_exactly_its_functions(conn: psycopg.Connection, role: str) -> None:
    granted = {
        name
        for (name,) in conn.execute(
            """select p.proname from pg_proc p where p.pronamespace = 'hookline'::regnamespace
               and has_function_privilege(%s, p.oid, 'execute')""",
            (role,),
        )
    }
    assert granted == EXECUTE[role]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reads_only_masked_views(conn: psycopg.Connection, role: str) -> None:
    held = {
        (rel, priv)
        for rel, priv in conn.execute(
            """select c.relname, p.priv from pg_class c cross join unnest(%s::text[]) p (priv)
               where c.relnamespace = 'hookline'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'f')
                 and has_table_privilege(%s, c.oid, p.priv)""",
            (list(PRIVILEGES), role),
        )
    }
    sequences = conn.execute(
        """select c.relname from (select oid, relname from pg_class where relnamespace = 'hookline'::regnamespace
             and relkind = 'S' offset 0) c
           where has_sequence_privilege(%s, c.oid, 'usage, select, update')""",
        (role,),
    ).fetchall()
    assert held == RELATIONS[role]
    assert sequences == []


@pytest.mark.parametrize("role", ROLES)
def test_each_role_uses_the_schema_and_creates_nothing(conn: psycopg.Connection, role: str) -> None:
    row = conn.execute(
        "select has_schema_privilege(%s, 'hookline', 'usage'), has_schema_privilege(%s, 'hookline', 'create')",
        (role, role),
    ).fetchone()
    assert row == (True, False)


def test_no_function_is_callable_by_default(conn: psycopg.Connection) -> None:
    public = conn.execute(
        """select p.oid::regprocedure::text from pg_proc p
           where p.pronamespace = 'hookline'::regnamespace and has_function_privilege('public', p.oid, 'execute')"""
    ).fetchall()
    assert public == []


def test_no_relation_is_granted_beyond_select_on_views(conn: psycopg.Connection) -> None:
    grants = conn.execute(
        """select c.relname, c.relkind::text, a.privilege_type, a.grantee::regrole::text
           from pg_class c cross join aclexplode(c.relacl) a
           where c.relnamespace = 'hookline'::regnamespace and a.grantee <> c.relowner
             and not (c.relkind = 'v' and a.privilege_type = 'SELECT'
                      and a.grantee::regrole::text in ('hookline_operator', 'hookline_readonly'))"""
    ).fetchall()
    assert grants == []


def test_security_definer_functions_are_the_listed_ones(conn: psycopg.Connection) -> None:
    definer = {
        name
        for (name,) in conn.execute(
            "select p.proname from pg_proc p where p.pronamespace = 'hookline'::regnamespace and p.prosecdef"
        )
    }
    assert definer == set(DEFINER)


def test_every_tenant_table_forces_row_level_security(conn: psycopg.Connection) -> None:
    loose = conn.execute(
        """select c.relname from pg_class c
           join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped
           where c.relnamespace = 'hookline'::regnamespace and c.relkind in ('r', 'p') and not c.relispartition
             and not (c.relrowsecurity and c.relforcerowsecurity
                      and exists (select from pg_policy p where p.polrelid = c.oid))
             and c.relname <> all(%s)""",
        (list(NO_POLICY),),
    ).fetchall()
    assert loose == []


def test_every_view_is_a_security_barrier(conn: psycopg.Connection) -> None:
    leaky = conn.execute(
        """select c.relname from pg_class c where c.relnamespace = 'hookline'::regnamespace and c.relkind = 'v'
             and not coalesce('security_barrier=true' = any(c.reloptions), false)"""
    ).fetchall()
    assert leaky == []
    views = {r[0] for r in conn.execute(
        "select c.relname from pg_class c where c.relnamespace = 'hookline'::regnamespace and c.relkind = 'v'"
    )}  # fmt: skip
    assert views == VIEWS


def test_group_roles_cannot_log_in(conn: psycopg.Connection) -> None:
    roles = conn.execute(
        """select rolname, rolcanlogin, rolsuper, rolbypassrls from pg_roles
           where rolname like 'hookline\\_%' order by 1"""
    ).fetchall()
    assert [r[0] for r in roles] == sorted(["hookline_owner", "hookline_sender", *ROLES])
    assert all(r[1:] == (False, False, False) for r in roles)


def test_every_function_comes_from_functions_or_is_migration_owned(
    conn: psycopg.Connection,
) -> None:
    """functions/uninstall.sql drops the first kind and spares the second; nothing else exists."""
    files = {p.stem for p in (ROOT / "functions").glob("*.sql")} - {"index", "uninstall"}
    stray = conn.execute(
        """select p.proname from pg_proc p where p.pronamespace = 'hookline'::regnamespace
             and p.proname <> all(%s)
             and coalesce(obj_description(p.oid, 'pg_proc'), '') not like 'Migration-owned%%'""",
        (sorted(files),),
    ).fetchall()
    assert stray == []
