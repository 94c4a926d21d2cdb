-- Verify hookline:table_role_tenants from pg

BEGIN;

select role_name, tenant_id, granted_at from hookline.role_tenants where false;

do $$
declare
  v_role text;
begin
  foreach v_role in array array['hookline_ingest', 'hookline_runner', 'hookline_operator', 'hookline_readonly'] loop
    if pg_catalog.has_table_privilege(v_role, 'hookline.role_tenants', 'select, insert, update, delete, truncate') then
      raise exception 'role % must not touch hookline.role_tenants', v_role;
    end if;
    if not pg_catalog.has_function_privilege(v_role, 'hookline._tenant_visible(text)', 'execute') then
      raise exception 'role % must be able to evaluate hookline._tenant_visible', v_role;
    end if;
  end loop;
  if pg_catalog.has_function_privilege('public', 'hookline._mapped_tenants()', 'execute') then
    raise exception 'public must not execute hookline._mapped_tenants';
  end if;
end
$$;

ROLLBACK;
