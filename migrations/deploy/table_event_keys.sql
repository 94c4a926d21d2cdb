-- Deploy hookline:table_event_keys to pg
-- requires: table_events

BEGIN;

-- A unique index on a partitioned table must contain the partition key, so it cannot make
-- (source_id, external_id) unique across days. This small unpartitioned table does: ingest
-- inserts the key first (on conflict do nothing) and only a new key creates an event.
-- Retention deletes keys together with the partitions of their events.
create table hookline.event_keys (
  source_id bigint not null,
  external_id text not null,
  event_id bigint not null,
  received_at timestamptz not null,
  constraint event_keys_pkey primary key (source_id, external_id)
);

create index event_keys_received_at_idx on hookline.event_keys (received_at);

comment on table hookline.event_keys is 'Deduplication keys: one row per (source, external id) ever ingested and not yet expired by retention.';
comment on column hookline.event_keys.source_id is 'The source (hookline.sources).';
comment on column hookline.event_keys.external_id is 'The sender''s id of the event.';
comment on column hookline.event_keys.event_id is 'The event the key belongs to.';
comment on column hookline.event_keys.received_at is 'received_at of that event: locates its partition and drives pruning.';

COMMIT;
