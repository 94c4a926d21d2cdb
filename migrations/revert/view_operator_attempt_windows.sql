-- Revert hookline:view_operator_attempt_windows from pg

BEGIN;

set local lock_timeout = '5s';

drop function hookline.attempt_window_totals(timestamp with time zone, timestamp with time zone);

delete from hookline.schema_changes where change = 'view_operator_attempt_windows';

COMMIT;
