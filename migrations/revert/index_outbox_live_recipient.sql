-- Revert hookline:index_outbox_live_recipient from pg

BEGIN;

set local lock_timeout = '5s';

drop index hookline.outbox_live_recipient_idx;

delete from hookline.schema_changes where change = 'index_outbox_live_recipient';

COMMIT;
