-- Deploy hookline:table_events_sanitized to pg
-- requires: table_events_whatsapp_columns
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- A body valid for the sender but not for jsonb (a \u0000 escape, a lone surrogate) is stored
-- raw as received and its events come from a sanitised parse; the event says what was replaced.
alter table hookline.events add column sanitized text[];

comment on column hookline.events.sanitized is 'JSON Pointers (into payload) of the strings whose characters jsonb cannot hold (\u0000, lone surrogates) were replaced by U+FFFD; null when none. The raw request keeps the original bytes.';

insert into hookline.schema_changes (change) values ('table_events_sanitized');

COMMIT;
