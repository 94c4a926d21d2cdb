-- Verify hookline:view_operator_rows_by_key from pg

BEGIN;

do $$
begin
  if (select pg_catalog.count(*) from pg_catalog.pg_proc p where p.pronamespace = 'hookline'::regnamespace
      and p.proname in ('dead_letter_rows', 'event_log_rows', 'attempt_log_rows', 'audit_trail_page')
      and p.prosecdef and p.proretset) <> 4 then
    raise exception 'the operator views need their four keyed set-returning SECURITY DEFINER functions';
  end if;
end
$$;
select * from hookline.dead_letter_rows('{}') where false;
select * from hookline.event_log_rows(0, null) where false;
select * from hookline.attempt_log_rows(0, now()) where false;
select * from hookline.audit_trail_page(page_size => 0) where false;
select * from hookline.dead_letter_queue where false;
select * from hookline.event_log where false;
select * from hookline.attempt_log where false;
select * from hookline.audit_trail where false;

ROLLBACK;
