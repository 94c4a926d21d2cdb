-- Revert hookline:table_audit_log from pg

BEGIN;

drop table hookline.audit_log;
drop table hookline.audit_head;
drop function hookline._audit_log_append_only();
drop function hookline._audit_log_chain();
drop function hookline._audit_hash(bytea, bigint, timestamptz, name, name, name, text, text, jsonb, text, jsonb, jsonb);

COMMIT;
