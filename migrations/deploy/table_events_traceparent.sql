-- Deploy hookline:table_events_traceparent to pg
-- requires: table_events
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Nullable, no default: a catalog-only change on the partitioned table and its partitions.
alter table hookline.events
  add column traceparent text,
  add constraint events_traceparent_format
    check (traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$') not valid;

comment on column hookline.events.traceparent is 'The W3C traceparent of the ingress request that brought the event (or a new root); every delivery of the event sends it, so a handler continues the same trace on retries and replays. Null for events from before it was kept.';

insert into hookline.schema_changes (change) values ('table_events_traceparent');

COMMIT;
