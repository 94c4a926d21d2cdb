-- Verify hookline:table_tenants_policy from pg

BEGIN;

do $$
declare
  v_role text;
begin
  if not exists (select from pg_catalog.pg_class c where c.oid = 'hookline.tenants'::regclass and c.relrowsecurity and c.relforcerowsecurity) then
    raise exception 'hookline.tenants must have row level security enabled and forced';
  end if;
  if not exists (select from pg_catalog.pg_policy p where p.polrelid = 'hookline.tenants'::regclass and p.polname = 'tenants_tenant_isolation') then
    raise exception 'hookline.tenants has no tenant isolation policy';
  end if;
  foreach v_role in array array['hookline_ingest', 'hookline_runner', 'hookline_operator', 'hookline_readonly'] loop
    if pg_catalog.has_table_privilege(v_role, 'hookline.tenants', 'select, insert, update, delete, truncate, references, trigger') then
      raise exception 'role % must not touch hookline.tenants', v_role;
    end if;
  end loop;
end
$$;

ROLLBACK;
