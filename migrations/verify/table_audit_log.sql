-- Verify hookline:table_audit_log from pg

BEGIN;

select audit_id, recorded_at, session_user_name, current_user_name, acting_role, action, tenant_id, target,
  reason, before, after, prev_hash, hash
from hookline.audit_log where false;
select is_head, audit_id, hash from hookline.audit_head where false;

do $$
declare
  v_role text;
begin
  foreach v_role in array array['hookline_ingest', 'hookline_runner', 'hookline_operator', 'hookline_readonly'] loop
    if pg_catalog.has_table_privilege(v_role, 'hookline.audit_log', 'select, insert, update, delete, truncate')
       or pg_catalog.has_table_privilege(v_role, 'hookline.audit_head', 'select, insert, update, delete, truncate') then
      raise exception 'role % must not touch hookline.audit_log or hookline.audit_head', v_role;
    end if;
  end loop;
  if (select pg_catalog.count(*) from pg_catalog.pg_trigger t
      where t.tgrelid = 'hookline.audit_log'::regclass and t.tgname like '\_900\_audit\_log\_no\_%') <> 2 then
    raise exception 'hookline.audit_log must refuse update, delete and truncate';
  end if;
end
$$;

ROLLBACK;
