create or replace function hookline.list_breakers()
returns table (
  target text, state text, is_forced boolean, open_until timestamptz, window_requests integer,
  window_failures integer, consecutive_failures integer, changed_at timestamptz, reason text
)
language sql
stable
set search_path = ''
as $$
  select b.target, b.state, b.is_forced, b.open_until, b.window_requests, b.window_failures,
    b.consecutive_failures, b.changed_at, b.reason
  from hookline.circuit_breakers b
  order by b.target
$$;

comment on function hookline.list_breakers() is
  'Every circuit breaker: state, whether forced, when an open one half-opens, the current window''s counts, when and why it last changed. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.list_breakers() from public;
