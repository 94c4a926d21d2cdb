-- Deploy hookline:view_operator_attempt_windows to pg
-- requires: view_operator_counts
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- `hookline stats` reported the last hour's failures per endpoint and the last 15 minutes'
-- deliveries and attempts per minute with two calls of hookline.attempt_totals, one from an
-- hour ago and one from 15 minutes ago: the last 15 minutes' attempts were read twice.
-- attempt_totals counts by the hour, which cannot answer a window that does not start on one,
-- and its signature stays (the sql/ overviews read it). This function counts the attempts
-- from `since` on once, and says per group how many of them were made at or after
-- `recent_since` (as outbox_totals' recent_since): one read answers both windows.
create function hookline.attempt_window_totals(since timestamp with time zone, recent_since timestamp with time zone)
returns table (
  tenant_id text,
  endpoint_id bigint,
  outcome text,
  attempts bigint,
  recent bigint
)
language plpgsql
stable
security definer
set search_path = ''
rows 100
as $$
begin
  -- Through EXECUTE ... USING, as hookline.attempt_totals: `since` is a constant of the plan,
  -- so only the day partitions from it on are read, and a null folds away.
  return query execute $q$
  select a.tenant_id, a.endpoint_id, a.outcome, pg_catalog.count(*) as attempts,
    pg_catalog.count(*) filter (where a.attempted_at >= $2) as recent
  from hookline.attempts a
  where ($1 is null or a.attempted_at >= $1)
    and ((select hookline._sees_all_tenants()) or a.tenant_id = any ((select hookline._mapped_tenants())::text[]))
  group by 1, 2, 3
  $q$ using attempt_window_totals.since, attempt_window_totals.recent_since;
end
$$;

comment on function hookline.attempt_window_totals(timestamp with time zone, timestamp with time zone) is
  'Migration-owned. hookline.attempt_log counted per tenant, endpoint and outcome for attempts made at or after since (null: all), with how many of them were made at or after recent_since (recent; null: none), the caller''s tenants only; reads only the day partitions from since on, masks nothing. Errors: none.';

-- SECURITY DEFINER, as the other counting functions: operators have no table privileges.
revoke all on function hookline.attempt_window_totals(timestamp with time zone, timestamp with time zone) from public;
grant execute on function hookline.attempt_window_totals(timestamp with time zone, timestamp with time zone) to hookline_operator, hookline_readonly;

insert into hookline.schema_changes (change) values ('view_operator_attempt_windows');

COMMIT;
