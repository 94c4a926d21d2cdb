-- Verify hookline:index_dead_letters_event_received_at from pg

BEGIN;

do $$
begin
  if to_regclass('hookline.dead_letters_event_received_at_idx') is null then
    raise exception 'index hookline.dead_letters_event_received_at_idx is missing';
  end if;
end
$$;

ROLLBACK;
