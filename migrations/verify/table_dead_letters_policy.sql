-- Verify hookline:table_dead_letters_policy from pg

BEGIN;

do $$
declare
  v_role text;
begin
  if not exists (select from pg_catalog.pg_class c where c.oid = 'hookline.dead_letters'::regclass and c.relrowsecurity and c.relforcerowsecurity) then
    raise exception 'hookline.dead_letters must have row level security enabled and forced';
  end if;
  if not exists (select from pg_catalog.pg_policy p where p.polrelid = 'hookline.dead_letters'::regclass and p.polname = 'dead_letters_tenant_isolation') then
    raise exception 'hookline.dead_letters has no tenant isolation policy';
  end if;
  foreach v_role in array array['hookline_ingest', 'hookline_runner', 'hookline_operator', 'hookline_readonly'] loop
    if pg_catalog.has_table_privilege(v_role, 'hookline.dead_letters', 'select, insert, update, delete, truncate, references, trigger') then
      raise exception 'role % must not touch hookline.dead_letters', v_role;
    end if;
  end loop;
end
$$;

ROLLBACK;
