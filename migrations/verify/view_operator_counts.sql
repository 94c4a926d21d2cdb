-- Verify hookline:view_operator_counts from pg

BEGIN;

do $$
begin
  if (select pg_catalog.count(*) from pg_catalog.pg_proc p where p.pronamespace = 'hookline'::regnamespace
      and p.proname in ('live_delivery_totals', 'dead_letter_totals', 'attempt_totals', 'outbox_totals', 'live_delivery_rows',
        'endpoint_overview_rows', 'outbox_message_rows')
      and p.prosecdef and p.proretset) <> 7 then
    raise exception 'the operator views need their counting and keyed set-returning SECURITY DEFINER functions';
  end if;
end
$$;
select * from hookline.live_delivery_totals() where false;
select * from hookline.dead_letter_totals() where false;
select * from hookline.attempt_totals(now()) where false;
select * from hookline.outbox_totals() where false;
select * from hookline.live_delivery_rows('{}') where false;
select * from hookline.endpoint_overview_rows('') where false;
select * from hookline.outbox_message_rows('{}') where false;
select * from hookline.live_deliveries where false;
select * from hookline.endpoint_overview where false;
select * from hookline.outbox_messages where false;

ROLLBACK;
