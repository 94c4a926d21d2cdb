-- Verify hookline:view_operator_attempt_windows from pg

BEGIN;

do $$
begin
  if not exists (
    select from pg_catalog.pg_proc p
    where p.oid = pg_catalog.to_regprocedure('hookline.attempt_window_totals(timestamp with time zone, timestamp with time zone)')
      and p.prosecdef and p.proretset
  ) then
    raise exception 'hookline.attempt_window_totals(since, recent_since) must be a set-returning SECURITY DEFINER function';
  end if;
  if not pg_catalog.has_function_privilege('hookline_operator', 'hookline.attempt_window_totals(timestamp with time zone, timestamp with time zone)', 'execute')
     or pg_catalog.has_function_privilege('hookline_runner', 'hookline.attempt_window_totals(timestamp with time zone, timestamp with time zone)', 'execute') then
    raise exception 'hookline.attempt_window_totals is for operators and readers only';
  end if;
end
$$;
select tenant_id, endpoint_id, outcome, attempts, recent from hookline.attempt_window_totals(now(), now()) where false;

ROLLBACK;
