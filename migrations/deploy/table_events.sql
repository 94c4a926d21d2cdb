-- Deploy hookline:table_events to pg
-- requires: table_sources
-- requires: table_partition_policies

BEGIN;

create sequence hookline.events_event_id_seq as bigint;
comment on sequence hookline.events_event_id_seq is 'Event ids, shared by all partitions of hookline.events.';

-- Partitioned by day on received_at; the default partition catches rows for days that have no
-- partition yet, so an insert never fails. hookline.premake_partitions() creates the day
-- partitions and moves rows out of the default partition.
create table hookline.events (
  event_id bigint not null default nextval('hookline.events_event_id_seq'),
  received_at timestamptz not null,
  source_id bigint not null,
  tenant_id text not null,
  external_id text not null,
  event_type text not null,
  occurred_at timestamptz,
  payload jsonb not null,
  constraint events_pkey primary key (event_id, received_at),
  constraint events_event_type_format check (event_type ~ '^[a-z0-9_-]+(\.[a-z0-9_-]+)*$')
) partition by range (received_at);

alter sequence hookline.events_event_id_seq owned by hookline.events.event_id;

create table hookline.events_default partition of hookline.events default;

create index events_source_id_received_at_idx on hookline.events (source_id, received_at);

comment on table hookline.events is 'Every accepted event, partitioned by day on received_at. Dropped whole partitions at a time by retention.';
comment on table hookline.events_default is 'Rows whose day had no partition when they arrived; hookline.premake_partitions() moves them out.';
comment on column hookline.events.event_id is 'Event id (unique across partitions, from hookline.events_event_id_seq).';
comment on column hookline.events.received_at is 'When hookline stored the event; the partition key.';
comment on column hookline.events.source_id is 'The source the event came from (hookline.sources).';
comment on column hookline.events.tenant_id is 'Owning tenant (copied from the source).';
comment on column hookline.events.external_id is 'The sender''s id of the event (for WhatsApp the wamid, plus the status for status updates); unique per source through hookline.event_keys.';
comment on column hookline.events.event_type is 'Dotted event type, e.g. whatsapp.message.text.';
comment on column hookline.events.occurred_at is 'When the sender says the event happened (for WhatsApp the timestamp field); order events by it, not by arrival.';
comment on column hookline.events.payload is 'The event body as received. May contain personal data: never shown unmasked outside the owner role.';

insert into hookline.partition_policies (table_name, premake_days, retention)
values ('events', 3, interval '30 days');

COMMIT;
