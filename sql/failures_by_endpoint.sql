-- Purpose: failed attempts per endpoint and error class over the last hours, with the
--          endpoint's state and dead-letter count: which handler is failing, and how.
-- Variables: tenant (optional), hours (optional, default 24).
-- Example: psql "$HOOKLINE_DSN" -v hours=6 -f sql/failures_by_endpoint.sql
-- Reads: hookline.attempt_log (through hookline.attempt_log_rows: only the hours asked for),
--        hookline.endpoint_overview (only your tenants).
\if :{?tenant} \else \set tenant '' \endif
\if :{?hours} \else \set hours 24 \endif
select e.name as endpoint, e.tenant_id, e.state,
  coalesce(a.error_class, 'http_' || a.status_code) as error_class,
  count(*) as failures, max(a.attempted_at) as last_failure, e.dead_letters
from hookline.attempt_log_rows(since => now() - make_interval(hours => :'hours'::integer)) a
join hookline.endpoint_overview e on e.endpoint_id = a.endpoint_id
where a.outcome in ('retrying', 'dead')
  and (:'tenant' = '' or a.tenant_id = :'tenant')
group by e.name, e.tenant_id, e.state, 4, e.dead_letters
order by failures desc, endpoint;
