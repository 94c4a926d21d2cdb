begin;
select plan(10);

-- Idle endpoints and the full probe (docs/delivery.md): when every candidate with due work is
-- full (at its max_in_flight, or behind an open breaker), the same claim probes every active
-- endpoint and serves another one with room, instead of answering empty while it has work.
-- The endpoints it locks then, after the full candidates, it takes with SKIP LOCKED (never a
-- wait: the id order of the endpoints' locks holds).
create function pg_temp.probe_took(ms integer) returns void language sql as $$
  select pg_catalog.set_config('hookline.claim_cursor', pg_catalog.jsonb_set(
    pg_catalog.current_setting('hookline.claim_cursor')::jsonb, '{cd}', pg_catalog.to_jsonb(ms))::text, false)
$$;

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 2);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.add_endpoint('acme', 'other', 'http://127.0.0.1:9/other');
select hookline.add_subscription('other', 'whatsapp.other');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00:00Z'::timestamptz + i * interval '1 second')
from generate_series(1, 8) i;

select is((select array_agg(url) from hookline.claim('r', 2, '30 seconds', '2026-03-01 10:01Z')),
  array['http://127.0.0.1:9/crm', 'http://127.0.0.1:9/crm'], 'a full batch fills crm''s max_in_flight');
select is(pg_catalog.current_setting('hookline.claim_cursor')::jsonb->>'c',
  (select '{' || endpoint_id || '}' from hookline.endpoints where name = 'crm'), 'crm is the candidate');

-- New work on the other endpoint, within the candidates' period (a full probe that took 1 s
-- keeps them for the second, the staleness bound).
select pg_temp.probe_took(1000);
select hookline.ingest('wa', 'wamid.other' || i, 'whatsapp.other', '{}', null, '2026-03-01 10:01:00.1Z') from generate_series(1, 3) i;
select is((select array_agg(url) from hookline.claim('r', 2, '30 seconds', '2026-03-01 10:01:00.2Z')),
  array['http://127.0.0.1:9/other', 'http://127.0.0.1:9/other'],
  'the candidate is full: the same claim probes every endpoint and serves the other');
select is((select count(*)::int from hookline.deliveries d join hookline.endpoints e using (endpoint_id)
           where e.name = 'crm' and d.state = 'in_flight'), 2, 'crm''s max_in_flight holds');
select ok((pg_catalog.current_setting('hookline.claim_cursor')::jsonb->>'ca')::timestamptz = '2026-03-01 10:01:00.2Z',
  'that was a full probe');

-- The same behind an open breaker: crm has room by its max_in_flight, but its breaker admits
-- nothing. First crm alone is the candidate again (other's work is done).
create function pg_temp.complete_all(at timestamptz) returns void language sql as $$
  select from hookline.complete((select jsonb_agg(jsonb_build_object('delivery_id', d.delivery_id,
    'lease_token', d.lease_token, 'status_code', 200)) from hookline.deliveries d where d.state = 'in_flight'), at)
$$;
select pg_temp.complete_all('2026-03-01 10:01:00.3Z');
select is((select count(*)::int from hookline.claim('r', 3, '30 seconds', '2026-03-01 10:01:00.4Z')), 3,
  'crm''s next two and other''s last');
select pg_temp.complete_all('2026-03-01 10:01:00.5Z');
select pg_temp.probe_took(1000);
select is((select count(*)::int from hookline.claim('r', 2, '30 seconds', '2026-03-01 10:01:00.55Z') where url like '%/crm'), 2,
  'a full batch of crm''s from the candidates, which leaves crm alone the candidate');
select pg_temp.complete_all('2026-03-01 10:01:00.56Z');
select hookline.set_breaker('endpoint:' || endpoint_id, 'open', 'test', '2026-03-01 10:01:00.56Z')
from hookline.endpoints where name = 'crm';
select hookline.ingest('wa', 'wamid.other.late', 'whatsapp.other', '{}', null, '2026-03-01 10:01:00.57Z');
select pg_temp.probe_took(1000);
select is((select array_agg(url) from hookline.claim('r', 2, '30 seconds', '2026-03-01 10:01:00.6Z')),
  array['http://127.0.0.1:9/other'], 'a candidate behind an open breaker: the other is served');
select is((select count(*)::int from hookline.deliveries d join hookline.endpoints e using (endpoint_id)
           where e.name = 'crm' and d.state = 'in_flight'), 0, 'and nothing of crm''s is leased');

-- Nothing else with room: an empty answer.
select is_empty($$select * from hookline.claim('r', 2, '30 seconds', '2026-03-01 10:01:00.7Z')$$,
  'nothing with room: empty');

select * from finish();
rollback;
