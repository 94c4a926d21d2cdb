-- Verify hookline:index_events_drop_source_received_at from pg

BEGIN;

do $$
begin
  if to_regclass('hookline.events_source_id_received_at_idx') is not null then
    raise exception 'index hookline.events_source_id_received_at_idx still exists';
  end if;
end
$$;

ROLLBACK;
