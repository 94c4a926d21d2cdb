-- Revert hookline:table_subscriptions from pg

BEGIN;

drop table hookline.subscriptions;

COMMIT;
