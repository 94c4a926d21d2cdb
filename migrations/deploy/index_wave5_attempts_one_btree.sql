-- Deploy hookline:index_wave5_attempts_one_btree to pg
-- requires: table_attempts
-- requires: index_outbox_rate_and_history
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Every attempt wrote two btree entries and a BRIN entry. Nothing reads attempts by
-- attempt_id: complete finds a delivery's last attempt, and operators a delivery's attempts,
-- by attempts_delivery_id_idx; snapshot_stats a minute's by the BRIN index; retention drops
-- whole days. The primary key only kept unique what its sequence already makes unique, at a
-- btree insert per attempt (about 1 us of complete's CPU per delivery, docs/performance.md).
-- Dropping it drops its index on every partition; the table's lock is held for a catalog
-- change only.
-- why: the guarantee it removes (attempt_id unique) is kept by the sequence; no client reads by it.
-- squawk-ignore ban-drop-constraint
alter table hookline.attempts drop constraint attempts_pkey;

comment on column hookline.attempts.attempt_id is
  'Attempt id (from hookline.attempts_attempt_id_seq; unique by the sequence, not indexed: attempts are read by delivery or by time).';

insert into hookline.schema_changes (change) values ('index_wave5_attempts_one_btree');

COMMIT;
