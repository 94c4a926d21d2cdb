-- Revert hookline:index_outbox_sending from pg

BEGIN;

set local lock_timeout = '5s';

drop index hookline.outbox_sending_idx;

delete from hookline.schema_changes where change = 'index_outbox_sending';

COMMIT;
