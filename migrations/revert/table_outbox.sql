-- Revert hookline:table_outbox from pg

BEGIN;

drop table hookline.outbox;

COMMIT;
