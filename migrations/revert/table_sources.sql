-- Revert hookline:table_sources from pg

BEGIN;

drop table hookline.sources;

COMMIT;
