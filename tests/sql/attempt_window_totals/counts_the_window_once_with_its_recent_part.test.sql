-- hookline.attempt_window_totals(since, recent_since) counts the attempts made at or after
-- since once, per tenant, endpoint and outcome, and says how many of them were made at or
-- after recent_since: `hookline stats` reads the last hour and its last 15 minutes in one call
-- (it called attempt_totals twice and read the last 15 minutes' attempts twice).
begin;
select plan(4);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_endpoint('acme', 'crm', 'https://handler.invalid/', max_in_flight => 100);
select hookline.add_subscription('crm', '*');
select hookline.ingest('wa', 'w' || i, 'whatsapp.message.text', '{}', null, now() - interval '3 hours')
from generate_series(1, 3) i;
-- One attempt at each time: 2 hours ago and 50 minutes ago a 500 (retrying), 10 minutes ago
-- a 200 (succeeded).
do $$
declare
  v_at timestamptz;
  v_r record;
begin
  foreach v_at in array array[now() - interval '2 hours', now() - interval '50 minutes', now() - interval '10 minutes'] loop
    select c.delivery_id, c.lease_token into v_r from hookline.claim('r1', 1, '1 minute', v_at) c;
    perform hookline.complete(jsonb_build_array(jsonb_build_object(
      'delivery_id', v_r.delivery_id, 'lease_token', v_r.lease_token, 'runner', 'r1',
      'status_code', case when v_at > now() - interval '15 minutes' then 200 else 500 end, 'duration_ms', 1)), v_at);
  end loop;
end
$$;

select is((select count(*)::int from hookline.attempts), 3, 'the fixture: three attempts');
select results_eq(
  $$ select outcome, attempts, recent from hookline.attempt_window_totals(now() - interval '1 hour', now() - interval '15 minutes') order by 1 $$,
  $$ values ('retrying', 1::bigint, 0::bigint), ('succeeded', 1::bigint, 1::bigint) $$,
  'the last hour''s attempts, each once, and which of them are of the last 15 minutes');
select results_eq(
  $$ select outcome, sum(attempts)::bigint from hookline.attempt_totals(now() - interval '15 minutes') group by 1 order by 1 $$,
  $$ select outcome, recent from hookline.attempt_window_totals(now() - interval '1 hour', now() - interval '15 minutes') where recent > 0 order by 1 $$,
  'its recent part is what attempt_totals counts from recent_since');
select results_eq(
  $$ select outcome, attempts, recent from hookline.attempt_window_totals(null, null) order by 1 $$,
  $$ values ('retrying', 2::bigint, 0::bigint), ('succeeded', 1::bigint, 0::bigint) $$,
  'null since: every attempt; null recent_since: none recent');

select * from finish();
rollback;
