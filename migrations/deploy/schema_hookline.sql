-- Deploy hookline:schema_hookline to pg

BEGIN;

create schema hookline;
comment on schema hookline is 'hookline: durable webhook ingestion, delivery and dead-letter queue.';

COMMIT;
