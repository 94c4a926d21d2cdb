begin;
select plan(7);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z')
from generate_series(1, 4) i;
create temp table c as select * from hookline.claim('r1', 4, '30 seconds', '2026-03-01 10:00Z');

-- Result i at position i: a success, a 503, no answer, and the success's duplicate (stale),
-- given out of delivery id order.
create temp table done as
select * from hookline.complete(
  delivery_ids => array[(select max(delivery_id) from c), (select min(delivery_id) from c),
                        (select min(delivery_id) + 1 from c), (select max(delivery_id) from c)],
  lease_tokens => array[(select lease_token from c order by delivery_id desc limit 1),
                        (select lease_token from c order by delivery_id limit 1),
                        (select lease_token from c order by delivery_id offset 1 limit 1),
                        (select lease_token from c order by delivery_id desc limit 1)],
  status_codes => array[200, 503, null, 200],
  error_classes => array[null, null, 'timeout', null],
  duration_ms => array[5, 6, 7, 8],
  retry_after_s => array[null, 30, null, null]::float8[],
  response_excerpts => array['ok', 'busy', null, 'again'],
  runners => array['r1', 'r1', 'r1', 'r1'],
  now => '2026-03-01 10:00:01Z');

select is((select array_agg(outcome order by delivery_id, outcome) from done),
  array['retrying', 'retrying', 'stale', 'succeeded'], 'each result decided; the duplicate of a success is stale');
select is((select next_attempt_at from done where delivery_id = (select min(delivery_id) from c)),
  '2026-03-01 10:00:31Z'::timestamptz, 'Retry-After at its position is honoured');
select is((select array_agg(a.duration_ms || ':' || a.outcome || ':' || coalesce(a.response_excerpt, '-') order by a.duration_ms) from hookline.attempts a),
  array['5:succeeded:ok', '6:retrying:busy', '7:retrying:-', '8:stale:again'], 'every result is an attempt, its fields from its position');
select is((select count(*) from hookline.deliveries where state = 'in_flight'), 1::bigint, 'the untouched fourth delivery keeps its lease');

select is(
  (select array_agg(x.outcome) from hookline.complete(
    delivery_ids => array[(select min(delivery_id) from c), 999999], lease_tokens => array[gen_random_uuid(), gen_random_uuid()],
    status_codes => array[200, 200], error_classes => array[null, null]::text[], duration_ms => array[1, 1],
    retry_after_s => array[null, null]::float8[], response_excerpts => array[null, null]::text[],
    runners => array['r9', 'r9'], now => '2026-03-01 10:00:02Z') x),
  array['stale', 'unknown'], 'an old lease is stale, an id never seen unknown');

select throws_ok(
  $$select * from hookline.complete(array[1, 2]::bigint[], array[gen_random_uuid()], array[200, 200], array[null, null]::text[],
    array[1, 1], array[null, null]::float8[], array[null, null]::text[], array['r', 'r'])$$,
  'HL026', 'complete needs arrays of results of one length', 'arrays of different lengths are refused');
select throws_ok(
  $$select * from hookline.complete(array[1]::bigint[], array[gen_random_uuid()], array[null]::integer[], array[null]::text[],
    array[1], array[null]::float8[], array[null]::text[], array['r'])$$,
  'HL026', 'each result needs delivery_id, lease_token, and a status_code (100-999) or an error_class',
  'a result with neither a status nor an error class is refused');

select * from finish();
rollback;
