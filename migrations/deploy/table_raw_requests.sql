-- Deploy hookline:table_raw_requests to pg
-- requires: table_sources
-- requires: table_partition_policies

BEGIN;

create sequence hookline.raw_requests_request_id_seq as bigint;
comment on sequence hookline.raw_requests_request_id_seq is 'Request ids, shared by all partitions of hookline.raw_requests.';

-- Column order: keys first, then what was received. Partitioned by day on received_at like
-- hookline.events and kept as long (its own row in hookline.partition_policies).
create table hookline.raw_requests (
  request_id bigint not null default nextval('hookline.raw_requests_request_id_seq'),
  received_at timestamptz not null,
  source_id bigint not null,
  tenant_id text not null,
  headers jsonb not null,
  body bytea not null,
  event_count integer not null,
  new_event_count integer not null,
  constraint raw_requests_pkey primary key (request_id, received_at),
  constraint raw_requests_headers_object check (jsonb_typeof(headers) = 'object'),
  constraint raw_requests_counts_consistent check (new_event_count between 0 and event_count)
) partition by range (received_at);

alter sequence hookline.raw_requests_request_id_seq owned by hookline.raw_requests.request_id;

create table hookline.raw_requests_default partition of hookline.raw_requests default;

create index raw_requests_source_id_received_at_idx on hookline.raw_requests (source_id, received_at);

comment on table hookline.raw_requests is 'Every accepted webhook request exactly as received (bytes and relevant headers), for forensics and re-derivation; partitioned by day on received_at and dropped with its partition at retention.';
comment on table hookline.raw_requests_default is 'Rows whose day had no partition when they arrived; hookline.premake_partitions() moves them out.';
comment on column hookline.raw_requests.request_id is 'Request id (unique across partitions, from hookline.raw_requests_request_id_seq).';
comment on column hookline.raw_requests.received_at is 'When hookline stored the request; the partition key.';
comment on column hookline.raw_requests.source_id is 'The source the request was addressed to (hookline.sources).';
comment on column hookline.raw_requests.tenant_id is 'Owning tenant (copied from the source).';
comment on column hookline.raw_requests.headers is 'The relevant request headers (content type, user agent, signature headers), lowercase names.';
comment on column hookline.raw_requests.body is 'The request body, byte for byte as signed by the sender. Contains personal data.';
comment on column hookline.raw_requests.event_count is 'How many events the body was split into.';
comment on column hookline.raw_requests.new_event_count is 'How many of them were new (the rest were duplicates of stored events).';

-- The same defaults as hookline.events: raw requests are kept as long as the events they carry.
insert into hookline.partition_policies (table_name, premake_days, retention)
values ('raw_requests', 3, interval '30 days');

COMMIT;
