-- Revert hookline:table_senders from pg

BEGIN;

drop table hookline.senders;

COMMIT;
