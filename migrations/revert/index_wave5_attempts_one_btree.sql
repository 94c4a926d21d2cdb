-- Revert hookline:index_wave5_attempts_one_btree from pg

BEGIN;

set local lock_timeout = '5s';

-- why: the revert builds the key again on every partition, holding off attempts' inserts
-- (completes) for the build; revert in a quiet minute.
alter table hookline.attempts add constraint attempts_pkey primary key (attempt_id, attempted_at);

comment on column hookline.attempts.attempt_id is 'Attempt id (from hookline.attempts_attempt_id_seq).';

delete from hookline.schema_changes where change = 'index_wave5_attempts_one_btree';

COMMIT;
