-- Revert hookline:view_operator_definer from pg

BEGIN;

set local lock_timeout = '5s';

-- The views as view_operator, view_outbound_operator and table_dead_letters_error_class made them; then the functions go.

create or replace view hookline.dead_letter_queue with (security_barrier) as
select l.delivery_id, l.tenant_id, e.name as endpoint, ev.event_type, l.state::text as state,
  case when l.state = 'discarded' then 'discarded' else coalesce(l.error_class, 'unknown') end as error_class,
  hookline.mask_text(l.reason) as reason, l.last_status_code, l.attempt_count, l.generation,
  l.created_at, l.finished_at, l.event_id, l.event_received_at
from hookline.dead_letters l
join hookline.endpoints e on e.endpoint_id = l.endpoint_id
left join lateral (
  select x.event_type from hookline.events x where x.event_id = l.event_id and x.received_at = l.event_received_at
) ev on true
where (select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[]);

create or replace view hookline.live_deliveries with (security_barrier) as
select d.delivery_id, d.tenant_id, e.name as endpoint, d.state::text as state, d.next_attempt_at,
  d.attempt_count, d.generation, d.created_at, d.runner, d.event_id
from hookline.deliveries d
join hookline.endpoints e on e.endpoint_id = d.endpoint_id
where (select hookline._sees_all_tenants()) or d.tenant_id = any ((select hookline._mapped_tenants())::text[]);

create or replace view hookline.endpoint_overview with (security_barrier) as
select e.endpoint_id, e.name, e.tenant_id, pg_catalog.regexp_replace(e.url, '[?#].*$', '') as url, e.state,
  hookline.mask_text(e.paused_reason) as paused_reason, e.timeout_ms, e.max_in_flight,
  e.retry_schedule::text[] as retry_schedule, e.is_retrying_client_errors,
  (select pg_catalog.count(*) from hookline.deliveries d where d.endpoint_id = e.endpoint_id) as live_deliveries,
  (select pg_catalog.count(*) from hookline.dead_letters l where l.endpoint_id = e.endpoint_id) as dead_letters,
  e.created_at, e.updated_at
from hookline.endpoints e
where (select hookline._sees_all_tenants()) or e.tenant_id = any ((select hookline._mapped_tenants())::text[]);

create or replace view hookline.attempt_log with (security_barrier) as
select a.attempt_id, a.attempted_at, a.delivery_id, a.endpoint_id, a.tenant_id, a.generation, a.attempt_number,
  a.status_code, a.duration_ms, a.outcome, a.error_class, hookline.mask_text(a.response_excerpt) as response_excerpt
from hookline.attempts a
where (select hookline._sees_all_tenants()) or a.tenant_id = any ((select hookline._mapped_tenants())::text[]);

create or replace view hookline.event_log with (security_barrier) as
select ev.event_id, ev.received_at, ev.tenant_id, s.name as source, ev.external_id, ev.event_type, ev.occurred_at,
  ev.phone_number_id, hookline.mask_phone(ev.wa_id) as wa_id, hookline.mask_payload(ev.payload) as payload
from hookline.events ev
left join hookline.sources s on s.source_id = ev.source_id
where (select hookline._sees_all_tenants()) or ev.tenant_id = any ((select hookline._mapped_tenants())::text[]);

create or replace view hookline.audit_trail with (security_barrier) as
select l.audit_id, l.recorded_at, l.session_user_name, l.current_user_name, l.acting_role, l.action, l.tenant_id,
  l.target, hookline.mask_text(l.reason) as reason, l.before, l.after
from hookline.audit_log l
where (select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[]);

create or replace view hookline.circuit_states with (security_barrier) as
select b.target, t.kind, t.name, t.tenant_id, b.state, b.is_forced, b.open_until,
  b.consecutive_failures, b.window_requests, b.window_failures, b.changed_at,
  hookline.mask_text(b.reason) as reason
from hookline.circuit_breakers b
join (
  select 'endpoint:' || e.endpoint_id as target, 'endpoint'::text as kind, e.name, e.tenant_id
  from hookline.endpoints e
  union all
  select 'sender:' || s.phone_number_id, 'sender', s.phone_number_id, s.tenant_id
  from hookline.senders s
) t on t.target = b.target
where (select hookline._sees_all_tenants()) or t.tenant_id = any ((select hookline._mapped_tenants())::text[]);

create or replace view hookline.outbox_messages with (security_barrier) as
select o.message_id, o.tenant_id, o.phone_number_id, o.state::text as state,
  hookline.mask_phone(o.recipient) as recipient, o.attempt_count, o.throttle_count,
  o.last_error_code, hookline.mask_text(o.last_error) as last_error, o.created_at,
  o.next_attempt_at, o.sent_at, o.delivered_at, o.read_at, o.finished_at
from hookline.outbox o
where (select hookline._sees_all_tenants()) or o.tenant_id = any ((select hookline._mapped_tenants())::text[]);

drop function hookline._dead_letter_queue_rows();
drop function hookline._live_deliveries_rows();
drop function hookline._endpoint_overview_rows();
drop function hookline._attempt_log_rows();
drop function hookline._event_log_rows();
drop function hookline._audit_trail_rows();
drop function hookline._circuit_states_rows();
drop function hookline._outbox_messages_rows();

delete from hookline.schema_changes where change = 'view_operator_definer';

COMMIT;
