-- Verify hookline:view_operator_definer from pg

BEGIN;

do $$
begin
  if exists (
    select from pg_catalog.pg_proc p where p.pronamespace = 'hookline'::regnamespace
      and p.proname in ('_dead_letter_queue_rows', '_live_deliveries_rows', '_endpoint_overview_rows', '_attempt_log_rows', '_event_log_rows', '_audit_trail_rows', '_circuit_states_rows', '_outbox_messages_rows')
      and not (p.prosecdef and p.proretset)
  ) or (select pg_catalog.count(*) from pg_catalog.pg_proc p where p.pronamespace = 'hookline'::regnamespace
      and p.proname in ('_dead_letter_queue_rows', '_live_deliveries_rows', '_endpoint_overview_rows', '_attempt_log_rows', '_event_log_rows', '_audit_trail_rows', '_circuit_states_rows', '_outbox_messages_rows')) <> 8 then
    raise exception 'the operator views need their eight set-returning SECURITY DEFINER functions';
  end if;
end
$$;
select * from hookline.dead_letter_queue where false;
select * from hookline.live_deliveries where false;
select * from hookline.endpoint_overview where false;
select * from hookline.attempt_log where false;
select * from hookline.event_log where false;
select * from hookline.audit_trail where false;
select * from hookline.circuit_states where false;
select * from hookline.outbox_messages where false;

ROLLBACK;
