begin;
select plan(5);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z')
from generate_series(1, 4) i;
create temp table c as
select row_number() over (order by delivery_id) as n, * from hookline.claim('r1', 4, '30 seconds', '2026-03-01 10:00Z');

-- Out of delivery id order: the last delivery's success, the first's 503 with Retry-After, the
-- second's timeout, and the success's duplicate (stale); the third delivery gets no result.
create temp table done as
select * from hookline.complete(jsonb_build_array(
  (select jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 200,
     'duration_ms', 5, 'response_excerpt', 'ok', 'runner', 'r1') from c where n = 4),
  (select jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 503,
     'duration_ms', 6, 'retry_after_s', 30, 'response_excerpt', 'busy', 'runner', 'r1') from c where n = 1),
  (select jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'error_class', 'timeout',
     'duration_ms', 7, 'runner', 'r1') from c where n = 2),
  (select jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'status_code', 200,
     'duration_ms', 8, 'response_excerpt', 'again', 'runner', 'r1') from c where n = 4)
), '2026-03-01 10:00:01Z');

select is((select array_agg(d.outcome order by d.delivery_id, d.outcome) from done d),
  array['retrying', 'retrying', 'stale', 'succeeded'], 'each result decided; the duplicate of a success is stale');
select is((select d.next_attempt_at from done d join c on c.delivery_id = d.delivery_id where c.n = 1),
  '2026-03-01 10:00:31Z'::timestamptz, 'the Retry-After of the result it came with');
select is((select array_agg(a.duration_ms || ':' || a.outcome || ':' || coalesce(a.response_excerpt, '-') order by a.duration_ms) from hookline.attempts a),
  array['5:succeeded:ok', '6:retrying:busy', '7:retrying:-', '8:stale:again'], 'every result is an attempt with its own fields');
select is((select array_agg(n order by n) from c join hookline.deliveries d using (delivery_id) where d.state = 'in_flight'),
  array[3::bigint], 'the delivery without a result keeps its lease');

select is(
  (select array_agg(x.outcome) from hookline.complete(jsonb_build_array(
     (select jsonb_build_object('delivery_id', delivery_id, 'lease_token', gen_random_uuid(), 'status_code', 200) from c where n = 1),
     jsonb_build_object('delivery_id', 999999, 'lease_token', gen_random_uuid(), 'status_code', 200)),
   '2026-03-01 10:00:02Z') x),
  array['stale', 'unknown'], 'a token that is not the lease is stale, an id never seen unknown');

select * from finish();
rollback;
