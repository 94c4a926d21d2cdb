-- Revert hookline:function_audit_trail_page_jit from pg

BEGIN;

set local lock_timeout = '5s';

alter function hookline.audit_trail_page(text, text, timestamptz, integer) reset jit;

delete from hookline.schema_changes where change = 'function_audit_trail_page_jit';

COMMIT;
