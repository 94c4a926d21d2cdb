-- Verify hookline:table_senders_audit from pg

BEGIN;

do $$
begin
  if (select count(*) from pg_catalog.pg_trigger t
      where t.tgrelid = 'hookline.senders'::regclass and t.tgname in ('_900_audit', '_900_audit_update')) <> 2 then
    raise exception 'the audit triggers of hookline.senders are missing';
  end if;
end
$$;

ROLLBACK;
