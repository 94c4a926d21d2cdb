-- Verify hookline:table_raw_requests from pg

BEGIN;

select request_id, received_at, source_id, tenant_id, headers, body, event_count, new_event_count
from hookline.raw_requests where false;

do $$
begin
  if not exists (select from pg_catalog.pg_partitioned_table where partrelid = 'hookline.raw_requests'::regclass) then
    raise exception 'hookline.raw_requests is not partitioned';
  end if;
  if to_regclass('hookline.raw_requests_default') is null then
    raise exception 'hookline.raw_requests has no default partition';
  end if;
  if not exists (select from hookline.partition_policies where table_name = 'raw_requests') then
    raise exception 'hookline.raw_requests has no partition policy';
  end if;
end
$$;

ROLLBACK;
