-- Verify hookline:table_audit_log_policy from pg

BEGIN;

do $$
declare
  v_role text;
begin
  if not exists (select from pg_catalog.pg_class c where c.oid = 'hookline.audit_log'::regclass and c.relrowsecurity and c.relforcerowsecurity) then
    raise exception 'hookline.audit_log must have row level security enabled and forced';
  end if;
  if not exists (select from pg_catalog.pg_policy p where p.polrelid = 'hookline.audit_log'::regclass and p.polname = 'audit_log_tenant_isolation') then
    raise exception 'hookline.audit_log has no tenant isolation policy';
  end if;
  foreach v_role in array array['hookline_ingest', 'hookline_runner', 'hookline_operator', 'hookline_readonly'] loop
    if pg_catalog.has_table_privilege(v_role, 'hookline.audit_log', 'select, insert, update, delete, truncate, references, trigger') then
      raise exception 'role % must not touch hookline.audit_log', v_role;
    end if;
  end loop;
end
$$;

ROLLBACK;
