-- Revert hookline:table_raw_requests from pg

BEGIN;

delete from hookline.partition_policies where table_name = 'raw_requests';
drop table hookline.raw_requests;

COMMIT;
