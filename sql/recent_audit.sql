-- Purpose: the newest audit rows: who did what to which ids, and why.
-- Variables: tenant (optional), limit (optional, default 50).
-- Example: psql "$HOOKLINE_DSN" -v tenant=acme -f sql/recent_audit.sql
-- Reads: hookline.audit_trail (through hookline.audit_trail_page: the newest rows only; only
--        your tenants; owners also see actions on no tenant).
--        The chain itself is checked with `hookline audit verify` (owner).
\if :{?tenant} \else \set tenant '' \endif
\if :{?limit} \else \set limit 50 \endif
select a.audit_id, a.recorded_at, a.acting_role, a.session_user_name, a.action, a.tenant_id,
  a.target, a.reason, a.before, a.after
from hookline.audit_trail_page(of_tenant => nullif(:'tenant', ''), page_size => :'limit'::integer) a
order by a.audit_id desc;
