-- Revert hookline:index_breaker_transitions_happened_at from pg

BEGIN;

set local lock_timeout = '5s';

drop index hookline.breaker_transitions_happened_at_idx;

delete from hookline.schema_changes where change = 'index_breaker_transitions_happened_at';

COMMIT;
