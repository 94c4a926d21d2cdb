-- Verify hookline:role_hookline from pg

BEGIN;

do $$
declare
  v_role text;
begin
  foreach v_role in array array['hookline_owner', 'hookline_ingest', 'hookline_runner', 'hookline_operator', 'hookline_readonly'] loop
    if exists (select from pg_catalog.pg_roles r where r.rolname = v_role and (r.rolcanlogin or r.rolsuper or r.rolbypassrls)) then
      raise exception 'role % must be NOLOGIN, not superuser, not BYPASSRLS', v_role;
    end if;
    if v_role <> 'hookline_owner' and not pg_catalog.has_schema_privilege(v_role, 'hookline', 'usage') then
      raise exception 'role % lacks usage on schema hookline', v_role;
    end if;
    if v_role <> 'hookline_owner' and pg_catalog.has_schema_privilege(v_role, 'hookline', 'create') then
      raise exception 'role % must not create in schema hookline', v_role;
    end if;
  end loop;
end
$$;

ROLLBACK;
