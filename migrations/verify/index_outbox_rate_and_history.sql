-- Verify hookline:index_outbox_rate_and_history from pg

BEGIN;

do $$
declare
  v_name text;
begin
  foreach v_name in array array['hookline.outbox_claimed_idx', 'hookline.outbox_finished_idx',
                                 'hookline.attempts_attempted_at_brin'] loop
    if to_regclass(v_name) is null then
      raise exception 'index % is missing', v_name;
    end if;
  end loop;
end
$$;

ROLLBACK;
