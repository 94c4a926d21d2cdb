-- Deploy hookline:table_attempts to pg
-- requires: table_deliveries
-- requires: table_partition_policies

BEGIN;

create sequence hookline.attempts_attempt_id_seq as bigint;
comment on sequence hookline.attempts_attempt_id_seq is 'Attempt ids, shared by all partitions of hookline.attempts.';

-- The delivery history, partitioned by day on attempted_at like hookline.events, so retention
-- drops it a whole day at a time. No foreign key to deliveries: a succeeded delivery's row is
-- deleted while its attempts stay.
create table hookline.attempts (
  attempt_id bigint not null default nextval('hookline.attempts_attempt_id_seq'),
  attempted_at timestamptz not null,
  delivery_id bigint not null,
  endpoint_id bigint not null,
  generation integer not null,
  attempt_number integer,
  status_code integer,
  duration_ms integer,
  outcome text not null,
  tenant_id text not null,
  runner text,
  error_class text,
  response_excerpt text,
  constraint attempts_pkey primary key (attempt_id, attempted_at),
  constraint attempts_outcome_known check (outcome in ('succeeded', 'retrying', 'dead', 'stale')),
  constraint attempts_status_or_error check (status_code is not null or error_class is not null),
  constraint attempts_status_code_range check (status_code between 100 and 999),
  constraint attempts_response_excerpt_short check (length(response_excerpt) <= 1000)
) partition by range (attempted_at);

alter sequence hookline.attempts_attempt_id_seq owned by hookline.attempts.attempt_id;

create table hookline.attempts_default partition of hookline.attempts default;

create index attempts_delivery_id_idx on hookline.attempts (delivery_id, attempted_at);

comment on table hookline.attempts is 'Every HTTP attempt of a delivery and its outcome, partitioned by day on attempted_at.';
comment on table hookline.attempts_default is 'Rows whose day had no partition when they arrived; hookline.premake_partitions() moves them out.';
comment on column hookline.attempts.attempt_id is 'Attempt id (from hookline.attempts_attempt_id_seq).';
comment on column hookline.attempts.attempted_at is 'When the outcome was recorded (complete''s now); the partition key.';
comment on column hookline.attempts.delivery_id is 'The delivery attempted.';
comment on column hookline.attempts.endpoint_id is 'The endpoint attempted.';
comment on column hookline.attempts.generation is 'The delivery''s generation at the time (replays increment it).';
comment on column hookline.attempts.attempt_number is '1-based attempt number within the generation; null for a stale result.';
comment on column hookline.attempts.status_code is 'HTTP status answered, null when no answer came.';
comment on column hookline.attempts.duration_ms is 'How long the request took, as the runner measured it.';
comment on column hookline.attempts.outcome is 'What the attempt decided: succeeded, retrying, dead, or stale (lease lost; no state change).';
comment on column hookline.attempts.tenant_id is 'Owning tenant.';
comment on column hookline.attempts.runner is 'The runner that made the attempt.';
comment on column hookline.attempts.error_class is 'Why no usable answer came: timeout, connect, network; null when a status came.';
comment on column hookline.attempts.response_excerpt is 'The first characters of the response body (at most 1000; the runner sends 500).';

insert into hookline.partition_policies (table_name, premake_days, retention)
values ('attempts', 3, interval '30 days');

COMMIT;
