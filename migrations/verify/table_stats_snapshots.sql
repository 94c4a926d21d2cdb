-- Verify hookline:table_stats_snapshots from pg

BEGIN;

select taken_at, endpoint_id, tenant_id, pending_count, in_flight_count, retrying_count, dead_count,
  succeeded_count, failed_count, oldest_due_seconds
from hookline.stats_snapshots where false;

do $$
begin
  if not exists (select from hookline.partition_policies where table_name = 'stats_snapshots') then
    raise exception 'hookline.stats_snapshots has no partition policy';
  end if;
end
$$;

ROLLBACK;
