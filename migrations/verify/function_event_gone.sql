-- Verify hookline:function_event_gone from pg

BEGIN;

do $$
begin
  if not exists (select from pg_catalog.pg_proc p
      where p.oid = pg_catalog.to_regprocedure('hookline._event_gone(bigint, timestamp with time zone)')
        and p.prolang = (select l.oid from pg_catalog.pg_language l where l.lanname = 'sql')
        and p.proretset and not p.prosecdef and p.proconfig is null) then
    raise exception 'hookline._event_gone(bigint, timestamptz) must be an inlinable set-returning SQL function (no SET clause)';
  end if;
  if pg_catalog.has_function_privilege('public', 'hookline._event_gone(bigint, timestamp with time zone)', 'execute') then
    raise exception 'hookline._event_gone is private';
  end if;
end
$$;
select * from hookline._event_gone(0, now()) where false;
select * from hookline.dead_letter_totals() where false;

ROLLBACK;
