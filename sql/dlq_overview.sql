-- Purpose: the dead-letter queue at a glance: dead and discarded deliveries per tenant,
--          endpoint and error class, with the oldest and newest.
-- Variables: tenant (optional; default: every tenant you may see).
-- Example: psql "$HOOKLINE_DSN" -v tenant=acme -f sql/dlq_overview.sql
-- Reads: hookline.dead_letter_queue counted (through hookline.dead_letter_totals: only your
--        tenants; nothing masked).
\if :{?tenant} \else \set tenant '' \endif
select q.tenant_id, q.endpoint, q.state, q.error_class, q.dead_letters as deliveries,
  q.oldest, q.newest, q.not_replayable
from hookline.dead_letter_totals() q
where :'tenant' = '' or q.tenant_id = :'tenant'
order by deliveries desc, q.tenant_id, q.endpoint;
