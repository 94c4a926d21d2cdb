-- Deploy hookline:view_outbound_operator to pg
-- requires: view_operator
-- requires: table_outbox
-- requires: table_senders
-- requires: table_circuit_breakers
-- requires: table_outbox_policy
-- requires: table_senders_policy

BEGIN;

-- Like the views of view_operator: security barriers that keep the caller to its tenants
-- themselves, and mask what could carry personal data.
create view hookline.circuit_states with (security_barrier) as
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

comment on view hookline.circuit_states is 'Circuit breakers of the caller''s tenants'' endpoints and sending numbers.';
comment on column hookline.circuit_states.target is 'endpoint:<id> or sender:<phone number id>.';
comment on column hookline.circuit_states.kind is 'endpoint or sender.';
comment on column hookline.circuit_states.name is 'Endpoint name, or the business phone number id.';
comment on column hookline.circuit_states.tenant_id is 'Owning tenant.';
comment on column hookline.circuit_states.state is 'closed, open or half_open.';
comment on column hookline.circuit_states.is_forced is 'Forced by an operator (hookline breakers set).';
comment on column hookline.circuit_states.open_until is 'When an open breaker half-opens.';
comment on column hookline.circuit_states.consecutive_failures is 'Failures in a row.';
comment on column hookline.circuit_states.window_requests is 'Results in the current window.';
comment on column hookline.circuit_states.window_failures is 'Failures in the current window.';
comment on column hookline.circuit_states.changed_at is 'Last transition.';
comment on column hookline.circuit_states.reason is 'Why, masked.';

create view hookline.outbox_messages with (security_barrier) as
select o.message_id, o.tenant_id, o.phone_number_id, o.state::text as state,
  hookline.mask_phone(o.recipient) as recipient, o.attempt_count, o.throttle_count,
  o.last_error_code, hookline.mask_text(o.last_error) as last_error, o.created_at,
  o.next_attempt_at, o.sent_at, o.delivered_at, o.read_at, o.finished_at
from hookline.outbox o
where (select hookline._sees_all_tenants()) or o.tenant_id = any ((select hookline._mapped_tenants())::text[]);

comment on view hookline.outbox_messages is 'Outbound messages of the caller''s tenants: states and errors, the recipient masked, never the text.';
comment on column hookline.outbox_messages.message_id is 'Outbox id.';
comment on column hookline.outbox_messages.tenant_id is 'Owning tenant.';
comment on column hookline.outbox_messages.phone_number_id is 'The sending business number.';
comment on column hookline.outbox_messages.state is 'queued, sending, unconfirmed, sent, delivered, read, failed or dead.';
comment on column hookline.outbox_messages.recipient is 'The recipient, masked.';
comment on column hookline.outbox_messages.attempt_count is 'Send attempts.';
comment on column hookline.outbox_messages.throttle_count is 'Times throttled.';
comment on column hookline.outbox_messages.last_error_code is 'The Graph error code of the last failure.';
comment on column hookline.outbox_messages.last_error is 'The last failure, masked.';
comment on column hookline.outbox_messages.created_at is 'When it was queued.';
comment on column hookline.outbox_messages.next_attempt_at is 'When it is next due (live messages).';
comment on column hookline.outbox_messages.sent_at is 'When the Cloud API accepted it.';
comment on column hookline.outbox_messages.delivered_at is 'When WhatsApp reported it delivered.';
comment on column hookline.outbox_messages.read_at is 'When WhatsApp reported it read.';
comment on column hookline.outbox_messages.finished_at is 'When it failed or went dead.';

grant select on hookline.circuit_states, hookline.outbox_messages to hookline_operator, hookline_readonly;

COMMIT;
