-- Revert hookline:index_outbox_rate_and_history from pg

BEGIN;

set local lock_timeout = '5s';

drop index hookline.attempts_attempted_at_brin;
drop index hookline.outbox_finished_idx;
drop index hookline.outbox_claimed_idx;
comment on column hookline.senders.window_started_at is 'Start of the clock second whose claims window_count counts.';
comment on column hookline.senders.window_count is 'Messages claimed in the second starting at window_started_at.';

delete from hookline.schema_changes where change = 'index_outbox_rate_and_history';

COMMIT;
