-- Verify hookline:table_stats_snapshots_policy from pg

BEGIN;

do $$
declare
  v_role text;
begin
  if not exists (select from pg_catalog.pg_class c where c.oid = 'hookline.stats_snapshots'::regclass and c.relrowsecurity and c.relforcerowsecurity) then
    raise exception 'hookline.stats_snapshots must have row level security enabled and forced';
  end if;
  if not exists (select from pg_catalog.pg_policy p where p.polrelid = 'hookline.stats_snapshots'::regclass and p.polname = 'stats_snapshots_tenant_isolation') then
    raise exception 'hookline.stats_snapshots has no tenant isolation policy';
  end if;
  foreach v_role in array array['hookline_ingest', 'hookline_runner', 'hookline_operator', 'hookline_readonly'] loop
    if pg_catalog.has_table_privilege(v_role, 'hookline.stats_snapshots', 'select, insert, update, delete, truncate, references, trigger') then
      raise exception 'role % must not touch hookline.stats_snapshots', v_role;
    end if;
  end loop;
end
$$;

ROLLBACK;
