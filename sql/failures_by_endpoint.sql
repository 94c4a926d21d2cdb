-- Purpose: failed attempts per endpoint and error class over the last hours, with the
--          endpoint's state and dead-letter count: which handler is failing, and how.
-- Variables: tenant (optional), hours (optional, default 24).
-- Example: psql "$HOOKLINE_DSN" -v hours=6 -f sql/failures_by_endpoint.sql
-- Reads: hookline.attempt_log counted (through hookline.attempt_totals: only the hours asked
--        for; nothing masked), hookline.endpoint_overview (only your tenants).
\if :{?tenant} \else \set tenant '' \endif
\if :{?hours} \else \set hours 24 \endif
select e.name as endpoint, e.tenant_id, e.state, a.error_class,
  sum(a.attempts) as failures, max(a.last_attempted_at) as last_failure, e.dead_letters
from hookline.attempt_totals(since => now() - make_interval(hours => :'hours'::integer)) a
join hookline.endpoint_overview e on e.endpoint_id = a.endpoint_id
where a.outcome in ('retrying', 'dead')
  and (:'tenant' = '' or a.tenant_id = :'tenant')
group by e.name, e.tenant_id, e.state, a.error_class, e.dead_letters
order by failures desc, endpoint;
