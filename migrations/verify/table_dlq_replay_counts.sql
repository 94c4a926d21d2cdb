-- Verify hookline:table_dlq_replay_counts from pg

BEGIN;

select tenant_id, replayed from hookline.dlq_replay_counts where false;

do $$
begin
  if not exists (select from pg_catalog.pg_trigger t
                 where t.tgrelid = 'hookline.audit_log'::regclass and t.tgname = '_600_count_replays') then
    raise exception 'the audit log''s replay count trigger is missing';
  end if;
end
$$;

ROLLBACK;
