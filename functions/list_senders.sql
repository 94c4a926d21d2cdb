create or replace function hookline.list_senders()
returns table (
  phone_number_id text, source text, tenant_id text, state text, paused_reason text,
  messages_per_second integer, throttled_rate integer, throttled_until timestamptz, pair_interval interval,
  pair_burst integer, unconfirmed_wait interval, queued bigint, breaker text
)
language sql
stable
set search_path = ''
as $$
  select s.phone_number_id, src.name, s.tenant_id, s.state, s.paused_reason, s.messages_per_second,
    s.throttled_rate, s.throttled_until, s.pair_interval, s.pair_burst, s.unconfirmed_wait,
    (select pg_catalog.count(*) from hookline.outbox o
     where o.phone_number_id = s.phone_number_id and o.next_attempt_at is not null),
    coalesce((select b.state from hookline.circuit_breakers b where b.target = 'sender:' || s.phone_number_id), 'closed')
  from hookline.senders s
  join hookline.sources src on src.source_id = s.source_id
  order by s.phone_number_id
$$;

comment on function hookline.list_senders() is
  'Every sender with its limits, pause and throttle state, live messages and breaker state; never the access token. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.list_senders() from public;
