-- Verify hookline:table_audit_triggers from pg

BEGIN;

do $$
begin
  if (select pg_catalog.count(*) from pg_catalog.pg_trigger t where t.tgname = '_900_audit'
      and t.tgrelid in ('hookline.tenants'::regclass, 'hookline.sources'::regclass, 'hookline.endpoints'::regclass,
                        'hookline.subscriptions'::regclass, 'hookline.role_tenants'::regclass, 'hookline.jobs'::regclass)) <> 6 then
    raise exception 'every configuration table must be audited';
  end if;
end
$$;

ROLLBACK;
