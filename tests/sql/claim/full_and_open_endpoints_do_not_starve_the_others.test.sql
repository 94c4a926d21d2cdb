begin;
select plan(6);

-- (Every lease below lasts past the last claim.) Three endpoints that take one delivery at a time, with older work than a fourth, and a claim
-- of three: the first claim fills the three; the next must serve the fourth, not stop at the
-- three full ones (which have the oldest due work).
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'slow' || i, 'http://127.0.0.1:9/slow' || i, max_in_flight => 1) from generate_series(1, 3) i;
select hookline.add_subscription('slow' || i, 'whatsapp.slow' || i) from generate_series(1, 3) i;
select hookline.add_endpoint('acme', 'fresh', 'http://127.0.0.1:9/fresh');
select hookline.add_subscription('fresh', 'whatsapp.fresh');
select hookline.ingest('wa', 'wamid.s' || i || '.' || n, 'whatsapp.slow' || i, '{}', null, '2026-03-01 10:00Z')
from generate_series(1, 3) i, generate_series(1, 2) n;
select hookline.ingest('wa', 'wamid.f' || n, 'whatsapp.fresh', '{}', null, '2026-03-01 10:01Z') from generate_series(1, 2) n;

select is((select count(distinct url)::int from hookline.claim('r1', 3, '30 seconds', '2026-03-01 10:02Z') where url like '%/slow%'), 3,
  'the oldest due endpoints are served first, one delivery each (their max_in_flight)');
select is((select array_agg(url order by delivery_id) from hookline.claim('r2', 3, '30 seconds', '2026-03-01 10:02:01Z')),
  array['http://127.0.0.1:9/fresh', 'http://127.0.0.1:9/fresh'],
  'with more endpoints due than max_rows, the full ones do not take every place: the fourth is served');

-- Endpoints behind an open breaker, with the oldest due work of all, and a claim of one.
select hookline.add_endpoint('acme', 'down' || i, 'http://127.0.0.1:9/down' || i) from generate_series(1, 2) i;
select hookline.add_subscription('down' || i, 'whatsapp.down' || i) from generate_series(1, 2) i;
select hookline.ingest('wa', 'wamid.d' || i || '.' || n, 'whatsapp.down' || i, '{}', null, '2026-03-01 09:00Z')
from generate_series(1, 2) i, generate_series(1, 3) n;
select hookline.set_breaker('endpoint:' || endpoint_id, 'open', 'test', '2026-03-01 10:02:05Z')
from hookline.endpoints where name like 'down%';
select hookline.ingest('wa', 'wamid.f3', 'whatsapp.fresh', '{}', null, '2026-03-01 10:02:06Z');
select is((select array_agg(url) from hookline.claim('r3', 1, '30 seconds', '2026-03-01 10:02:10Z')),
  array['http://127.0.0.1:9/fresh'],
  'endpoints whose breaker is open do not take the only place either');
select is((select count(*)::int from hookline.deliveries d join hookline.endpoints e using (endpoint_id)
           where e.name like 'down%' and d.state = 'in_flight'), 0,
  'and nothing of theirs is leased');

-- A half-open breaker's probes count as its room, as in the claim itself.
select hookline.set_breaker('endpoint:' || endpoint_id, 'auto', 'test', '2026-03-01 10:02:15Z')
from hookline.endpoints where name = 'down1';
update hookline.circuit_breakers set state = 'half_open', open_until = null, probes = 1
where target = (select 'endpoint:' || endpoint_id from hookline.endpoints where name = 'down1');
select is((select array_agg(url) from hookline.claim('r4', 1, '30 seconds', '2026-03-01 10:02:20Z')),
  array['http://127.0.0.1:9/down1'],
  'a half-open endpoint with probe room is served, oldest due first');
select is_empty($$select * from hookline.claim('r5', 1, '30 seconds', '2026-03-01 10:02:21Z') where url like '%/down%'$$,
  'and once its probe is in flight, it gives its place up');

select * from finish();
rollback;
