-- Deploy hookline:table_dead_letters to pg
-- requires: table_endpoints
-- requires: type_delivery_state

BEGIN;

-- The dead-letter queue: dead and discarded deliveries, moved out of the hot table so claim
-- never scans them. Replay moves a row back into hookline.deliveries (same delivery_id, next
-- generation). Column order: identity, then what happened, then text.
create table hookline.dead_letters (
  delivery_id bigint primary key,
  endpoint_id bigint not null references hookline.endpoints (endpoint_id),
  event_id bigint not null,
  event_received_at timestamptz not null,
  created_at timestamptz not null,
  finished_at timestamptz not null,
  last_status_code integer,
  attempt_count integer not null,
  generation integer not null,
  state hookline.delivery_state not null,
  tenant_id text not null,
  reason text not null,
  constraint dead_letters_state_final check (state in ('dead', 'discarded'))
);

create index dead_letters_endpoint_id_idx on hookline.dead_letters (endpoint_id);
create index dead_letters_tenant_id_finished_at_idx on hookline.dead_letters (tenant_id, finished_at);

comment on table hookline.dead_letters is 'The DLQ: deliveries that went dead (retries exhausted, permanent failure) or were discarded. Replayable.';
comment on column hookline.dead_letters.delivery_id is 'The delivery''s id, kept through replays.';
comment on column hookline.dead_letters.endpoint_id is 'The endpoint it was going to.';
comment on column hookline.dead_letters.event_id is 'The event (hookline.events); a replay needs it still retained.';
comment on column hookline.dead_letters.event_received_at is 'received_at of the event: locates its partition.';
comment on column hookline.dead_letters.created_at is 'When the delivery (generation) was created.';
comment on column hookline.dead_letters.finished_at is 'When it went dead or was discarded.';
comment on column hookline.dead_letters.last_status_code is 'The last HTTP status answered, if any.';
comment on column hookline.dead_letters.attempt_count is 'Attempts made in its last generation.';
comment on column hookline.dead_letters.generation is 'Its generation when it ended.';
comment on column hookline.dead_letters.state is 'dead or discarded.';
comment on column hookline.dead_letters.tenant_id is 'Owning tenant.';
comment on column hookline.dead_letters.reason is 'Why: retries exhausted, permanent status, gone, or the operator''s discard reason.';

COMMIT;
