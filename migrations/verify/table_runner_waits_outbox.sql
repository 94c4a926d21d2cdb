-- Verify hookline:table_runner_waits_outbox from pg

BEGIN;

do $$
begin
  if not exists (
    select from pg_catalog.pg_constraint c
    where c.conrelid = 'hookline.runner_waits'::regclass and c.conname = 'runner_waits_channel_known'
      and pg_catalog.pg_get_constraintdef(c.oid) like '%hookline_outbox%'
  ) then
    raise exception 'hookline.runner_waits does not accept channel hookline_outbox';
  end if;
end
$$;

ROLLBACK;
