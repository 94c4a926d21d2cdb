-- Deploy hookline:table_dlq_replay_counts to pg
-- requires: table_audit_log
-- requires: table_role_tenants
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- hookline.metric_gauges() (each scrape, and evaluate_alerts every minute) summed the replayed
-- deliveries per tenant over every replay row of the audit log, which is never pruned: a cost
-- that grew with every replay call ever made (13.5 of 17 ms of a call at 25,000 replay rows).
-- A statement-level trigger on the audit log now appends, per statement, one row per tenant
-- with the count of its replay rows (hookline.replay writes one per tenant and call), and
-- snapshot_stats folds them into one row per tenant, as it does for dead_letter_counts: the
-- gauge reads one row per tenant plus the replays of the last minute. Rows are folded, never
-- dropped, so the sum only grows: the gauge stays a counter whatever retention removes.
-- (audit_log_replays_idx, which served the old sum, stays: the released verify script of
-- index_audit_log_replays checks it, and it costs an operator action one index entry.)
create table hookline.dlq_replay_counts (
  tenant_id text not null,
  replayed bigint not null
);

comment on table hookline.dlq_replay_counts is 'Deliveries replayed out of the dead-letter queue per tenant, ever, as a sum of rows: a trigger on hookline.audit_log appends one row per tenant and statement that wrote delivery.replay rows, snapshot_stats folds them into one row per tenant. The count of a tenant is the sum of its rows.';
comment on column hookline.dlq_replay_counts.tenant_id is 'The replayed deliveries'' tenant (no foreign key, like the audit log''s).';
comment on column hookline.dlq_replay_counts.replayed is 'Deliveries replayed, from the count of the replay audit rows of one statement (a folded row: of every statement before).';

-- No grants: only the owner touches the table (metric_gauges is SECURITY DEFINER). Row level
-- security, forced, as on dead_letter_counts.
alter table hookline.dlq_replay_counts enable row level security;
alter table hookline.dlq_replay_counts force row level security;
create policy dlq_replay_counts_tenant_isolation on hookline.dlq_replay_counts
  using (hookline._sees_all_tenants() or tenant_id = any (hookline._mapped_tenants()::text[]))
  with check (hookline._sees_all_tenants() or tenant_id = any (hookline._mapped_tenants()::text[]));
comment on policy dlq_replay_counts_tenant_isolation on hookline.dlq_replay_counts is
  'Rows of the tenants the caller acts for (owners, runners and the ingress see every tenant).';

create function hookline._count_replays()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into hookline.dlq_replay_counts (tenant_id, replayed)
  select n.tenant_id, pg_catalog.sum((n.target->>'count')::bigint)
  from new_rows n
  where n.action = 'delivery.replay'
  group by n.tenant_id;
  return null;
end
$$;

comment on function hookline._count_replays() is
  'Migration-owned. Private, the statement-level insert trigger of hookline.audit_log: appends the deliveries its delivery.replay rows count, per tenant, to hookline.dlq_replay_counts. Errors: none of its own.';
revoke all on function hookline._count_replays() from public;

create trigger _600_count_replays after insert on hookline.audit_log
  referencing new table as new_rows for each statement execute function hookline._count_replays();

-- The counts so far. Audit writers hold this advisory lock to the end of their transaction
-- (hookline._audit_log_chain): taking it waits for those in flight and holds the next ones off
-- until the trigger is in place, so no replay falls between the sum and the trigger.
select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('hookline.audit_log'));
insert into hookline.dlq_replay_counts (tenant_id, replayed)
select a.tenant_id, pg_catalog.sum((a.target->>'count')::bigint)
from hookline.audit_log a
where a.action = 'delivery.replay'
group by a.tenant_id;

insert into hookline.schema_changes (change) values ('table_dlq_replay_counts');

COMMIT;
