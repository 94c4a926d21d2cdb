-- Purpose: attempts per hour and their outcomes: delivered, retried, dead, stale.
-- Variables: tenant (optional), hours (optional, default 24).
-- Example: psql "$HOOKLINE_DSN" -f sql/throughput_by_hour.sql
-- Reads: hookline.attempt_log (through hookline.attempt_log_rows: only the hours asked for;
--        only your tenants).
\if :{?tenant} \else \set tenant '' \endif
\if :{?hours} \else \set hours 24 \endif
select date_trunc('hour', a.attempted_at) as hour,
  count(*) filter (where a.outcome = 'succeeded') as succeeded,
  count(*) filter (where a.outcome = 'retrying') as retrying,
  count(*) filter (where a.outcome = 'dead') as dead,
  count(*) filter (where a.outcome = 'stale') as stale,
  round(avg(a.duration_ms)) as avg_ms
from hookline.attempt_log_rows(since => now() - make_interval(hours => :'hours'::integer)) a
where :'tenant' = '' or a.tenant_id = :'tenant'
group by 1
order by 1;
