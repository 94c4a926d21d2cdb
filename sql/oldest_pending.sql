-- Purpose: the deliveries that have waited longest (due, not in flight), and how overdue.
-- Variables: tenant (optional), limit (optional, default 20).
-- Example: psql "$HOOKLINE_DSN" -v tenant=acme -v limit=50 -f sql/oldest_pending.sql
-- Reads: hookline.live_deliveries (through hookline.live_delivery_rows: only the page asked
--        for; only your tenants).
\if :{?tenant} \else \set tenant '' \endif
\if :{?limit} \else \set limit 20 \endif
select d.delivery_id, d.tenant_id, d.endpoint, d.state, d.attempt_count, d.next_attempt_at,
  now() - d.next_attempt_at as overdue_by, d.created_at
from hookline.live_delivery_rows(of_tenant => nullif(:'tenant', ''), due_by => now(),
  page_size => :'limit'::integer) d
order by d.next_attempt_at, d.delivery_id;
