"""The Citus path stays open: the deployed catalog against the rules of Citus that can be
checked without Citus (docs/scaling.md, "The Citus path").

Every table of the `hookline` schema is read from the catalog and placed as docs/scaling.md
places it: a reference table, a coordinator-local table, or (any other table) distributed by
`tenant_id`, co-located with the others. Then, as Citus would refuse them:

- a distributed table needs `tenant_id`, not null (the distribution column);
- every primary key, unique constraint and unique index of a distributed table includes it;
- a foreign key from a distributed table goes to a reference table, or to a distributed table
  through `tenant_id` (co-located rows); none goes to a local table;
- no foreign key goes from a reference or local table to a distributed one;
- no row-level security policy of a distributed or reference table has a subquery (Citus
  refuses them: "Subqueries are not supported in policies on distributed tables").

Where the schema breaks a rule knowingly, EXCEPTIONS names the constraint and the reason's key;
docs/scaling.md explains it. A new violation fails (fix it, or add it here and there); a fixed
one fails too, until its exception is removed.
"""

from __future__ import annotations

from collections import defaultdict

import psycopg

from tests.helpers import ROOT

DOC = ROOT / "docs" / "scaling.md"

# Replicated to every node: small, read everywhere (RLS policies read role_tenants; the
# ingress resolves a source by its global name before it knows the tenant).
REFERENCE = {"tenants", "sources", "role_tenants", "graph_error_codes", "masking_key"}
# On the coordinator only, outside Citus's metadata: the global audit chain (and the replay
# counts its trigger appends), the job registry.
LOCAL = {
    "audit_log",
    "audit_head",
    "dlq_replay_counts",
    "jobs",
    "job_runs",
    "partition_policies",
    "schema_changes",
    "alert_rules",
    "alerts",
    "alert_receivers",
    "runner_waits",
}

# The tables whose tenant_isolation policy wraps its helpers in a subquery (docs/scaling.md).
POLICED = ("attempts", "dead_letters", "deliveries", "endpoints", "events", "outbox",
           "raw_requests", "senders", "sources", "stats_snapshots", "subscriptions", "tenants")  # fmt: skip

# (rule, table, constraint, index or policy) -> the reason's key in docs/scaling.md.
EXCEPTIONS = {
    ("distribution column", "event_keys", "tenant_id"): "add-tenant-id",
    ("distribution column", "circuit_breakers", "tenant_id"): "add-tenant-id",
    ("distribution column", "breaker_transitions", "tenant_id"): "add-tenant-id",
    ("unique key", "deliveries", "deliveries_pkey"): "id-keys",
    ("unique key", "dead_letters", "dead_letters_pkey"): "id-keys",
    ("unique key", "attempts", "attempts_pkey"): "id-keys",
    ("unique key", "events", "events_pkey"): "id-keys",
    ("unique key", "raw_requests", "raw_requests_pkey"): "id-keys",
    ("unique key", "endpoints", "endpoints_pkey"): "id-keys",
    ("unique key", "subscriptions", "subscriptions_pkey"): "id-keys",
    ("unique key", "outbox", "outbox_pkey"): "id-keys",
    ("unique key", "senders", "senders_pkey"): "meta-ids",
    ("unique key", "outbox", "outbox_wamid_key"): "meta-ids",
    ("unique key", "endpoints", "endpoints_name_key"): "global-names",
    ("unique key", "outbox", "outbox_idempotency_key_key"): "implied-tenant",
    ("unique key", "subscriptions", "subscriptions_once"): "implied-tenant",
    ("unique key", "stats_snapshots", "stats_snapshots_pkey"): "implied-tenant",
    ("foreign key", "outbox", "outbox_phone_number_id_fkey"): "implied-tenant",
    ("foreign key", "alert_receivers", "alert_receivers_endpoint_id_fkey"): "alert-endpoints",
    **{
        ("policy subquery", table, f"{table}_tenant_isolation"): "policy-subqueries"
        for table in POLICED
    },
}

TABLES = """
select c.relname,
  (select a.attnotnull from pg_attribute a
   where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped) as tenant_id
from pg_class c
where c.relnamespace = 'hookline'::regnamespace and c.relkind in ('r', 'p')
  and not c.relispartition
"""

# Primary keys, unique constraints and unique indexes (partial and expression ones too) of the
# tables (not their partitions), with whether tenant_id is among the key's columns.
UNIQUE_KEYS = """
select t.relname, i.relname,
  exists (select 1 from pg_attribute a
          where a.attrelid = t.oid and a.attname = 'tenant_id' and a.attnum = any (x.indkey))
from pg_index x
join pg_class i on i.oid = x.indexrelid
join pg_class t on t.oid = x.indrelid
where t.relnamespace = 'hookline'::regnamespace and not t.relispartition
  and t.relkind in ('r', 'p') and x.indisunique
"""

# Foreign keys with the column pairs they match on.
FOREIGN_KEYS = """
select f.relname, k.conname, r.relname,
  exists (select 1 from unnest(k.conkey, k.confkey) p (here, there)
          join pg_attribute a on a.attrelid = k.conrelid and a.attnum = p.here
          join pg_attribute b on b.attrelid = k.confrelid and b.attnum = p.there
          where a.attname = 'tenant_id' and b.attname = 'tenant_id')
from pg_constraint k
join pg_class f on f.oid = k.conrelid
join pg_class r on r.oid = k.confrelid
where k.contype = 'f' and k.connamespace = 'hookline'::regnamespace and not f.relispartition
"""


# Row-level security policies whose expression (or check) has a subquery.
POLICIES_WITH_SUBQUERIES = """
select c.relname, p.polname
from pg_policy p
join pg_class c on c.oid = p.polrelid
where c.relnamespace = 'hookline'::regnamespace
  and (p.polqual::text like '%{SUBLINK%' or coalesce(p.polwithcheck::text, '') like '%{SUBLINK%')
"""


def placement(table: str) -> str:
    return "reference" if table in REFERENCE else "local" if table in LOCAL else "distributed"


def violations(conn: psycopg.Connection) -> set[tuple[str, str, str]]:
    tables = dict(conn.execute(TABLES).fetchall())
    found: set[tuple[str, str, str]] = set()
    # A table without the column is one violation; its keys follow once it has it.
    usable = {t for t, not_null in tables.items() if placement(t) == "distributed" and not_null}
    found |= {
        ("distribution column", t, "tenant_id")
        for t in tables
        if placement(t) == "distributed" and t not in usable
    }
    for table, index, has_tenant in conn.execute(UNIQUE_KEYS):
        if table in usable and not has_tenant:
            found.add(("unique key", table, index))
    for table, name, target, through_tenant in conn.execute(FOREIGN_KEYS):
        if placement(table) == "distributed" and table not in usable:  # counted above
            continue
        source_kind, target_kind = placement(table), placement(target)
        if source_kind == "distributed":
            ok = target_kind == "reference" or (target_kind == "distributed" and through_tenant)
        else:
            ok = target_kind != "distributed"
        if not ok:
            found.add(("foreign key", table, name))
    for table, policy in conn.execute(POLICIES_WITH_SUBQUERIES):
        if placement(table) != "local":
            found.add(("policy subquery", table, policy))
    return found


def test_the_schema_keeps_the_citus_rules_but_the_named_exceptions(
    conn: psycopg.Connection,
) -> None:
    found = violations(conn)
    new = sorted(found - EXCEPTIONS.keys())
    assert not new, (
        f"breaks a Citus rule (docs/scaling.md): {new}; include tenant_id, or name the "
        "exception in tests/migration/test_citus_rules.py and its reason in docs/scaling.md"
    )
    fixed = sorted(EXCEPTIONS.keys() - found)
    assert not fixed, f"no longer broken, remove from EXCEPTIONS and docs/scaling.md: {fixed}"


def test_the_placement_names_existing_tables(conn: psycopg.Connection) -> None:
    tables = {t for (t, _) in conn.execute(TABLES)}
    assert tables >= REFERENCE | LOCAL, sorted((REFERENCE | LOCAL) - tables)


def test_docs_name_every_exception_and_its_reason() -> None:
    text = DOC.read_text()
    by_reason = defaultdict(list)
    for (rule, table, name), reason in EXCEPTIONS.items():
        by_reason[reason].append(
            table if rule in ("distribution column", "policy subquery") else name
        )
    for reason, names in by_reason.items():
        assert f"({reason})" in text, f"docs/scaling.md lacks the reason ({reason})"
        for name in names:
            assert f"`{name}`" in text, f"docs/scaling.md does not name `{name}`"
    for table in REFERENCE | LOCAL:
        assert f"`{table}`" in text, f"docs/scaling.md does not place `{table}`"


def test_each_rule_catches_a_table_that_breaks_it(conn: psycopg.Connection) -> None:
    conn.execute("""
        create table hookline.scratch_orders (
          order_id bigint primary key, tenant_id text not null,
          endpoint_id bigint references hookline.endpoints, code text,
          unique (tenant_id, code));
        create policy scratch_mine on hookline.scratch_orders
          using (tenant_id = (select current_user));
        create table hookline.scratch_notes (note text primary key);
        alter table hookline.tenants add column scratch_order bigint
          references hookline.scratch_orders;
    """)
    assert violations(conn) - EXCEPTIONS.keys() == {
        ("unique key", "scratch_orders", "scratch_orders_pkey"),
        ("foreign key", "scratch_orders", "scratch_orders_endpoint_id_fkey"),
        ("distribution column", "scratch_notes", "tenant_id"),
        ("foreign key", "tenants", "tenants_scratch_order_fkey"),
        ("policy subquery", "scratch_orders", "scratch_mine"),
    }
