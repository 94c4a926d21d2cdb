create or replace function hookline.maintain_partitions(now timestamptz default pg_catalog.now())
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_created integer;
  v_repaired integer;
begin
  select count(*) into v_created from hookline.premake_partitions(maintain_partitions.now);
  select count(*) into v_repaired from hookline.repair_default_partitions();
  return format('created %s partitions; repaired %s days from default partitions', v_created, v_repaired);
end
$$;

comment on function hookline.maintain_partitions(timestamptz) is
  'Job. Creates the day partitions due (premake_partitions) and moves rows out of default partitions (repair_default_partitions). Idempotent and safe to run concurrently (partition creation is serialised per table). Returns a summary. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.maintain_partitions(timestamp with time zone) from public;
