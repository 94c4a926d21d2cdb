-- Verify hookline:function_audit_trail_page_jit from pg

BEGIN;

select 1 / count(*) from pg_catalog.pg_proc
where oid = 'hookline.audit_trail_page(text, text, timestamptz, integer)'::regprocedure
  and 'jit=off' = any (proconfig);

ROLLBACK;
