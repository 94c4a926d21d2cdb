-- Verify hookline:table_subscriptions_policy from pg

BEGIN;

do $$
declare
  v_role text;
begin
  if not exists (select from pg_catalog.pg_class c where c.oid = 'hookline.subscriptions'::regclass and c.relrowsecurity and c.relforcerowsecurity) then
    raise exception 'hookline.subscriptions must have row level security enabled and forced';
  end if;
  if not exists (select from pg_catalog.pg_policy p where p.polrelid = 'hookline.subscriptions'::regclass and p.polname = 'subscriptions_tenant_isolation') then
    raise exception 'hookline.subscriptions has no tenant isolation policy';
  end if;
  foreach v_role in array array['hookline_ingest', 'hookline_runner', 'hookline_operator', 'hookline_readonly'] loop
    if pg_catalog.has_table_privilege(v_role, 'hookline.subscriptions', 'select, insert, update, delete, truncate, references, trigger') then
      raise exception 'role % must not touch hookline.subscriptions', v_role;
    end if;
  end loop;
end
$$;

ROLLBACK;
