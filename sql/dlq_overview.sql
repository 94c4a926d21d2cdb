-- Purpose: the dead-letter queue at a glance: dead and discarded deliveries per tenant,
--          endpoint and error class, with the oldest and newest.
-- Variables: tenant (optional; default: every tenant you may see).
-- Example: psql "$HOOKLINE_DSN" -v tenant=acme -f sql/dlq_overview.sql
-- Reads: hookline.dead_letter_queue (masked; only your tenants).
\if :{?tenant} \else \set tenant '' \endif
select q.tenant_id, q.endpoint, q.state, q.error_class, count(*) as deliveries,
  min(q.finished_at) as oldest, max(q.finished_at) as newest,
  count(*) filter (where q.event_type is null) as not_replayable
from hookline.dead_letter_queue q
where :'tenant' = '' or q.tenant_id = :'tenant'
group by q.tenant_id, q.endpoint, q.state, q.error_class
order by deliveries desc, q.tenant_id, q.endpoint;
