-- Verify hookline:index_audit_log_replays from pg

BEGIN;

do $$
begin
  if to_regclass('hookline.audit_log_replays_idx') is null then
    raise exception 'index hookline.audit_log_replays_idx is missing';
  end if;
end
$$;

ROLLBACK;
