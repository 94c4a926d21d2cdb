-- Deploy hookline:view_operator to pg
-- requires: function_masking
-- requires: table_role_tenants
-- requires: table_audit_log
-- requires: table_dead_letters
-- requires: table_attempts
-- requires: table_events_whatsapp_columns

BEGIN;

-- The masked views operators and read-only roles query (the CLI and sql/ read these only).
-- They run with their owner's rights over the private tables, so each filters rows by the
-- caller's tenants itself (row level security binds a non-superuser owner too; the helpers run
-- once per query, as init plans), and is a security barrier so a caller's function in a WHERE
-- clause never sees rows first.
-- Personal data goes through the masking functions; secrets are never selected.

create view hookline.dead_letter_queue with (security_barrier) as
select l.delivery_id, l.tenant_id, e.name as endpoint, ev.event_type, l.state::text as state,
  case
    when l.state = 'discarded' then 'discarded'
    when l.last_status_code is not null then 'http_' || l.last_status_code
    when l.reason like 'refused:%' then 'refused'
    else coalesce(substring(l.reason from 'last: ([a-z_]+)$'), 'unknown')
  end as error_class,
  hookline.mask_text(l.reason) as reason, l.last_status_code, l.attempt_count, l.generation,
  l.created_at, l.finished_at, l.event_id, l.event_received_at
from hookline.dead_letters l
join hookline.endpoints e on e.endpoint_id = l.endpoint_id
left join lateral (
  select x.event_type from hookline.events x where x.event_id = l.event_id and x.received_at = l.event_received_at
) ev on true
where (select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[]);

comment on view hookline.dead_letter_queue is 'The dead-letter queue of the caller''s tenants: dead and discarded deliveries, masked.';
comment on column hookline.dead_letter_queue.delivery_id is 'The delivery (replay and discard take it).';
comment on column hookline.dead_letter_queue.tenant_id is 'Owning tenant.';
comment on column hookline.dead_letter_queue.endpoint is 'The endpoint''s name.';
comment on column hookline.dead_letter_queue.event_type is 'The event''s type; null when retention dropped the event (then it cannot be replayed).';
comment on column hookline.dead_letter_queue.state is 'dead or discarded.';
comment on column hookline.dead_letter_queue.error_class is 'http_<status>, timeout, connect, network, refused (blocked address), discarded, or unknown.';
comment on column hookline.dead_letter_queue.reason is 'Why it is here, masked.';
comment on column hookline.dead_letter_queue.last_status_code is 'The last HTTP status answered, if any.';
comment on column hookline.dead_letter_queue.attempt_count is 'Attempts in its last generation.';
comment on column hookline.dead_letter_queue.generation is 'Its generation (replays increment it).';
comment on column hookline.dead_letter_queue.created_at is 'When this generation was created.';
comment on column hookline.dead_letter_queue.finished_at is 'When it went dead or was discarded.';
comment on column hookline.dead_letter_queue.event_id is 'The event.';
comment on column hookline.dead_letter_queue.event_received_at is 'When the event was received.';

create view hookline.live_deliveries with (security_barrier) as
select d.delivery_id, d.tenant_id, e.name as endpoint, d.state::text as state, d.next_attempt_at,
  d.attempt_count, d.generation, d.created_at, d.runner, d.event_id
from hookline.deliveries d
join hookline.endpoints e on e.endpoint_id = d.endpoint_id
where (select hookline._sees_all_tenants()) or d.tenant_id = any ((select hookline._mapped_tenants())::text[]);

comment on view hookline.live_deliveries is 'The queue of the caller''s tenants: pending, in-flight and retrying deliveries.';
comment on column hookline.live_deliveries.delivery_id is 'The delivery.';
comment on column hookline.live_deliveries.tenant_id is 'Owning tenant.';
comment on column hookline.live_deliveries.endpoint is 'The endpoint''s name.';
comment on column hookline.live_deliveries.state is 'pending, in_flight or retrying.';
comment on column hookline.live_deliveries.next_attempt_at is 'When it is next claimable (for in_flight: when its lease expires).';
comment on column hookline.live_deliveries.attempt_count is 'Attempts in this generation.';
comment on column hookline.live_deliveries.generation is 'Its generation.';
comment on column hookline.live_deliveries.created_at is 'When it was created or replayed.';
comment on column hookline.live_deliveries.runner is 'The runner holding its lease, if in flight.';
comment on column hookline.live_deliveries.event_id is 'The event.';

create view hookline.endpoint_overview with (security_barrier) as
select e.endpoint_id, e.name, e.tenant_id, pg_catalog.regexp_replace(e.url, '[?#].*$', '') as url, e.state,
  hookline.mask_text(e.paused_reason) as paused_reason, e.timeout_ms, e.max_in_flight,
  e.retry_schedule::text[] as retry_schedule, e.is_retrying_client_errors,
  (select pg_catalog.count(*) from hookline.deliveries d where d.endpoint_id = e.endpoint_id) as live_deliveries,
  (select pg_catalog.count(*) from hookline.dead_letters l where l.endpoint_id = e.endpoint_id) as dead_letters,
  e.created_at, e.updated_at
from hookline.endpoints e
where (select hookline._sees_all_tenants()) or e.tenant_id = any ((select hookline._mapped_tenants())::text[]);

comment on view hookline.endpoint_overview is 'The caller''s tenants'' endpoints with queue counts; no secrets, URLs without query strings.';
comment on column hookline.endpoint_overview.endpoint_id is 'Endpoint id.';
comment on column hookline.endpoint_overview.name is 'Endpoint name.';
comment on column hookline.endpoint_overview.tenant_id is 'Owning tenant.';
comment on column hookline.endpoint_overview.url is 'The URL without query string or fragment (they may carry tokens).';
comment on column hookline.endpoint_overview.state is 'active, paused or disabled.';
comment on column hookline.endpoint_overview.paused_reason is 'Why it is paused, masked.';
comment on column hookline.endpoint_overview.timeout_ms is 'Request timeout.';
comment on column hookline.endpoint_overview.max_in_flight is 'Concurrency limit across runners.';
comment on column hookline.endpoint_overview.retry_schedule is 'Delays before each retry.';
comment on column hookline.endpoint_overview.is_retrying_client_errors is 'Whether 4xx are retried.';
comment on column hookline.endpoint_overview.live_deliveries is 'Deliveries in the queue.';
comment on column hookline.endpoint_overview.dead_letters is 'Deliveries in the dead-letter queue.';
comment on column hookline.endpoint_overview.created_at is 'When it was added.';
comment on column hookline.endpoint_overview.updated_at is 'When it was last changed.';

create view hookline.attempt_log with (security_barrier) as
select a.attempt_id, a.attempted_at, a.delivery_id, a.endpoint_id, a.tenant_id, a.generation, a.attempt_number,
  a.status_code, a.duration_ms, a.outcome, a.error_class, hookline.mask_text(a.response_excerpt) as response_excerpt
from hookline.attempts a
where (select hookline._sees_all_tenants()) or a.tenant_id = any ((select hookline._mapped_tenants())::text[]);

comment on view hookline.attempt_log is 'Attempts of the caller''s tenants'' deliveries; response excerpts masked.';
comment on column hookline.attempt_log.attempt_id is 'Attempt id.';
comment on column hookline.attempt_log.attempted_at is 'When the outcome was recorded.';
comment on column hookline.attempt_log.delivery_id is 'The delivery.';
comment on column hookline.attempt_log.endpoint_id is 'The endpoint.';
comment on column hookline.attempt_log.tenant_id is 'Owning tenant.';
comment on column hookline.attempt_log.generation is 'The delivery''s generation.';
comment on column hookline.attempt_log.attempt_number is 'Attempt within the generation.';
comment on column hookline.attempt_log.status_code is 'HTTP status, if any.';
comment on column hookline.attempt_log.duration_ms is 'Duration.';
comment on column hookline.attempt_log.outcome is 'succeeded, retrying, dead or stale.';
comment on column hookline.attempt_log.error_class is 'timeout, connect, network, refused; null when a status came.';
comment on column hookline.attempt_log.response_excerpt is 'Start of the answer (or the error), masked.';

create view hookline.event_log with (security_barrier) as
select ev.event_id, ev.received_at, ev.tenant_id, s.name as source, ev.external_id, ev.event_type, ev.occurred_at,
  ev.phone_number_id, hookline.mask_phone(ev.wa_id) as wa_id, hookline.mask_payload(ev.payload) as payload
from hookline.events ev
left join hookline.sources s on s.source_id = ev.source_id
where (select hookline._sees_all_tenants()) or ev.tenant_id = any ((select hookline._mapped_tenants())::text[]);

comment on view hookline.event_log is 'Events of the caller''s tenants with personal data masked (hookline.mask_payload).';
comment on column hookline.event_log.event_id is 'Event id.';
comment on column hookline.event_log.received_at is 'When it was stored.';
comment on column hookline.event_log.tenant_id is 'Owning tenant.';
comment on column hookline.event_log.source is 'The source''s name (null once the source is removed).';
comment on column hookline.event_log.external_id is 'The sender''s id (wamid).';
comment on column hookline.event_log.event_type is 'Event type.';
comment on column hookline.event_log.occurred_at is 'When the sender says it happened.';
comment on column hookline.event_log.phone_number_id is 'The business number id.';
comment on column hookline.event_log.wa_id is 'The user''s WhatsApp id, masked.';
comment on column hookline.event_log.payload is 'The payload, masked.';

create view hookline.audit_trail with (security_barrier) as
select l.audit_id, l.recorded_at, l.session_user_name, l.current_user_name, l.acting_role, l.action, l.tenant_id,
  l.target, hookline.mask_text(l.reason) as reason, l.before, l.after
from hookline.audit_log l
where (select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[]);

comment on view hookline.audit_trail is 'The audit log of the caller''s tenants (actions on no single tenant: owners only); reasons masked.';
comment on column hookline.audit_trail.audit_id is 'Position in the chain.';
comment on column hookline.audit_trail.recorded_at is 'When.';
comment on column hookline.audit_trail.session_user_name is 'The login role.';
comment on column hookline.audit_trail.current_user_name is 'current_user (a DEFINER function''s owner).';
comment on column hookline.audit_trail.acting_role is 'Who acted.';
comment on column hookline.audit_trail.action is 'What was done.';
comment on column hookline.audit_trail.tenant_id is 'The tenant acted on.';
comment on column hookline.audit_trail.target is 'The ids acted on.';
comment on column hookline.audit_trail.reason is 'The reason given, masked.';
comment on column hookline.audit_trail.before is 'Changed values before.';
comment on column hookline.audit_trail.after is 'Changed values after.';

grant select on hookline.dead_letter_queue, hookline.live_deliveries, hookline.endpoint_overview,
  hookline.attempt_log, hookline.event_log, hookline.audit_trail to hookline_operator, hookline_readonly;

COMMIT;
