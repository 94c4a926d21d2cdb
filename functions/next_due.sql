create or replace function hookline.next_due()
returns timestamptz
language sql
stable
security definer
set search_path = ''
as $$
  select pg_catalog.min(x.next_attempt_at)
  from hookline.endpoints e
  cross join lateral (
    select d.next_attempt_at
    from hookline.deliveries d
    where d.endpoint_id = e.endpoint_id
    order by d.next_attempt_at
    limit 1
  ) x
  where e.state = 'active'
$$;

comment on function hookline.next_due() is
  'When the next delivery of an active endpoint becomes claimable (a retry time or a lease expiry), null when none is queued; may be in the past. Runners sleep until then (or a notification). Errors: none.';

-- SECURITY DEFINER: runners have no table privileges; they learn when work is due only through this function.
revoke all on function hookline.next_due() from public;
grant execute on function hookline.next_due() to hookline_runner;
