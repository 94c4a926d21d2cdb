-- Deploy hookline:table_dead_letter_counts to pg
-- requires: table_dead_letters
-- requires: table_dead_letters_policy
-- requires: table_role_tenants
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- snapshot_stats wrote each endpoint's dead-letter count every minute by counting its dead
-- letters: a cost that grew with the dead-letter queue (history kept for 30 days), not with
-- the minute's work. Each statement that changes dead letters now appends one row per
-- endpoint it changed, with the change of its dead count (statement-level triggers, transition
-- tables: no per-row work, and no row that concurrent writers update, so no lock to wait for
-- and no lock order to keep); snapshot_stats folds them into one row per endpoint, so a
-- snapshot reads one row per endpoint plus the changes of the last minute.
create table hookline.dead_letter_counts (
  tenant_id text not null,
  endpoint_id bigint not null,
  dead_count bigint not null
);

comment on table hookline.dead_letter_counts is 'Dead letters in state dead per endpoint, as a sum of changes: the dead_letters triggers append one row per endpoint and statement, snapshot_stats folds them into one row per endpoint. The count of an endpoint is the sum of its rows.';
comment on column hookline.dead_letter_counts.tenant_id is 'The endpoint''s tenant.';
comment on column hookline.dead_letter_counts.endpoint_id is 'The endpoint (hookline.endpoints; no foreign key: rows of a removed endpoint sum to 0 and are folded away).';
comment on column hookline.dead_letter_counts.dead_count is 'A change of the endpoint''s count of dead letters in state dead (a folded row: the count).';

-- No grants: only the owner touches the table. Row level security, forced, as on dead_letters;
-- the helpers are called directly (a small table; no subquery in the policy, docs/scaling.md).
alter table hookline.dead_letter_counts enable row level security;
alter table hookline.dead_letter_counts force row level security;
create policy dead_letter_counts_tenant_isolation on hookline.dead_letter_counts
  using (hookline._sees_all_tenants() or tenant_id = any (hookline._mapped_tenants()::text[]))
  with check (hookline._sees_all_tenants() or tenant_id = any (hookline._mapped_tenants()::text[]));
comment on policy dead_letter_counts_tenant_isolation on hookline.dead_letter_counts is
  'Rows of the tenants the caller acts for (owners, runners and the ingress see every tenant).';

create function hookline._count_dead_letters()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'TRUNCATE' then
    delete from hookline.dead_letter_counts;
    return null;
  end if;
  if tg_op = 'INSERT' then
    insert into hookline.dead_letter_counts (tenant_id, endpoint_id, dead_count)
    select n.tenant_id, n.endpoint_id, pg_catalog.count(*)
    from new_rows n where n.state = 'dead'
    group by n.tenant_id, n.endpoint_id;
  elsif tg_op = 'DELETE' then
    insert into hookline.dead_letter_counts (tenant_id, endpoint_id, dead_count)
    select o.tenant_id, o.endpoint_id, -pg_catalog.count(*)
    from old_rows o where o.state = 'dead'
    group by o.tenant_id, o.endpoint_id;
  else
    insert into hookline.dead_letter_counts (tenant_id, endpoint_id, dead_count)
    select c.tenant_id, c.endpoint_id, pg_catalog.sum(c.delta)
    from (
      select n.tenant_id, n.endpoint_id, 1 as delta from new_rows n where n.state = 'dead'
      union all
      select o.tenant_id, o.endpoint_id, -1 from old_rows o where o.state = 'dead'
    ) c
    group by c.tenant_id, c.endpoint_id
    having pg_catalog.sum(c.delta) <> 0;
  end if;
  return null;
end
$$;

comment on function hookline._count_dead_letters() is
  'Migration-owned. Private, the statement-level triggers of hookline.dead_letters: appends the change of each endpoint''s dead count to hookline.dead_letter_counts (a truncate empties it). Errors: none of its own.';
revoke all on function hookline._count_dead_letters() from public;

-- Transition tables need one trigger per event; the function reads only the tables its event has.
create trigger _500_count_insert after insert on hookline.dead_letters
  referencing new table as new_rows for each statement execute function hookline._count_dead_letters();
create trigger _500_count_update after update on hookline.dead_letters
  referencing old table as old_rows new table as new_rows for each statement execute function hookline._count_dead_letters();
create trigger _500_count_delete after delete on hookline.dead_letters
  referencing old table as old_rows for each statement execute function hookline._count_dead_letters();
create trigger _500_count_truncate after truncate on hookline.dead_letters
  for each statement execute function hookline._count_dead_letters();

-- The counts so far. The triggers' lock on dead_letters holds writers off until this commits,
-- so no change falls between the count and the triggers (one scan of the dead letters, once).
insert into hookline.dead_letter_counts (tenant_id, endpoint_id, dead_count)
select d.tenant_id, d.endpoint_id, pg_catalog.count(*)
from hookline.dead_letters d
where d.state = 'dead'
group by d.tenant_id, d.endpoint_id;

insert into hookline.schema_changes (change) values ('table_dead_letter_counts');

COMMIT;
