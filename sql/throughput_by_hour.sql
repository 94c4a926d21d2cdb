-- Purpose: attempts per hour and their outcomes: delivered, retried, dead, stale.
-- Variables: tenant (optional), hours (optional, default 24).
-- Example: psql "$HOOKLINE_DSN" -f sql/throughput_by_hour.sql
-- Reads: hookline.attempt_log counted (through hookline.attempt_totals: only the hours asked
--        for; only your tenants; nothing masked).
\if :{?tenant} \else \set tenant '' \endif
\if :{?hours} \else \set hours 24 \endif
select a.hour,
  coalesce(sum(a.attempts) filter (where a.outcome = 'succeeded'), 0) as succeeded,
  coalesce(sum(a.attempts) filter (where a.outcome = 'retrying'), 0) as retrying,
  coalesce(sum(a.attempts) filter (where a.outcome = 'dead'), 0) as dead,
  coalesce(sum(a.attempts) filter (where a.outcome = 'stale'), 0) as stale,
  round(sum(a.total_ms) / nullif(sum(a.timed), 0)) as avg_ms
from hookline.attempt_totals(since => now() - make_interval(hours => :'hours'::integer)) a
where :'tenant' = '' or a.tenant_id = :'tenant'
group by 1
order by 1;
