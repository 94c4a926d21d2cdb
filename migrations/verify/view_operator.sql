-- Verify hookline:view_operator from pg

BEGIN;

select delivery_id, tenant_id, endpoint, event_type, state, error_class, reason from hookline.dead_letter_queue where false;
select delivery_id, tenant_id, endpoint, state, next_attempt_at from hookline.live_deliveries where false;
select endpoint_id, name, tenant_id, url, state, live_deliveries, dead_letters from hookline.endpoint_overview where false;
select attempt_id, attempted_at, delivery_id, outcome, response_excerpt from hookline.attempt_log where false;
select event_id, tenant_id, wa_id, payload from hookline.event_log where false;
select audit_id, acting_role, action, tenant_id, target from hookline.audit_trail where false;

do $$
declare
  v_role text;
  v_view text;
begin
  foreach v_view in array array['dead_letter_queue', 'live_deliveries', 'endpoint_overview', 'attempt_log', 'event_log', 'audit_trail'] loop
    foreach v_role in array array['hookline_operator', 'hookline_readonly'] loop
      if not pg_catalog.has_table_privilege(v_role, 'hookline.' || v_view, 'select') then
        raise exception 'role % must read hookline.%', v_role, v_view;
      end if;
      if pg_catalog.has_table_privilege(v_role, 'hookline.' || v_view, 'insert, update, delete, truncate') then
        raise exception 'role % must not write hookline.%', v_role, v_view;
      end if;
    end loop;
    foreach v_role in array array['hookline_ingest', 'hookline_runner'] loop
      if pg_catalog.has_table_privilege(v_role, 'hookline.' || v_view, 'select') then
        raise exception 'role % must not read hookline.%', v_role, v_view;
      end if;
    end loop;
  end loop;
end
$$;

ROLLBACK;
