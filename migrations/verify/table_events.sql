-- Verify hookline:table_events from pg

BEGIN;

select event_id, received_at, source_id, tenant_id, external_id, event_type, occurred_at, payload
from hookline.events where false;

do $$
begin
  if not exists (select from pg_catalog.pg_partitioned_table where partrelid = 'hookline.events'::regclass) then
    raise exception 'hookline.events is not partitioned';
  end if;
  if to_regclass('hookline.events_default') is null then
    raise exception 'hookline.events has no default partition';
  end if;
  if not exists (select from hookline.partition_policies where table_name = 'events') then
    raise exception 'hookline.events has no partition policy';
  end if;
end
$$;

ROLLBACK;
