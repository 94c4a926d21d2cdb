begin;
select plan(23);

-- Idle endpoints and the full probe (docs/delivery.md): a claim probes every active endpoint
-- only when a full probe is due (no candidates: a session's first claim, after a short or
-- empty claim; ten times the last full probe's duration or a second after it, by the claim's
-- now); otherwise only the endpoints that probe found with due work. The count is the index
-- scans of the due index in this transaction: one per endpoint probed, plus one per endpoint
-- a claim takes rows from.
create function pg_temp.probes() returns bigint language sql as $$
  select pg_catalog.pg_stat_get_xact_numscans('hookline.deliveries_endpoint_id_next_attempt_at_idx'::regclass)
$$;
create function pg_temp.scans_of(claim text) returns bigint language plpgsql as $$
declare
  v_before bigint := pg_temp.probes();
begin
  execute claim;
  return pg_temp.probes() - v_before;
end
$$;
-- The last full probe's duration, as if it had taken this long: the test moves the claim's
-- now against a known period (ten times it, at most a second).
create function pg_temp.probe_took(ms integer) returns void language sql as $$
  select pg_catalog.set_config('hookline.claim_cursor', pg_catalog.jsonb_set(
    pg_catalog.current_setting('hookline.claim_cursor')::jsonb, '{cd}', pg_catalog.to_jsonb(ms))::text, false)
$$;
create temp table got (n integer, delivery_id bigint, url text);
create function pg_temp.claim_at(n integer, rows integer, at timestamptz) returns void language sql as $$
  insert into got select n, c.delivery_id, c.url from hookline.claim('r', rows, '30 seconds', at) c
$$;

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'idle' || i, 'http://127.0.0.1:9/idle' || i) from generate_series(1, 300) i;
select hookline.add_subscription('idle7', 'whatsapp.idle7');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00:00Z'::timestamptz + i * interval '1 second')
from generate_series(1, 20) i;

select cmp_ok(pg_temp.scans_of($$select pg_temp.claim_at(1, 2, '2026-03-01 10:01Z')$$), '>=', 301::bigint,
  'a session''s first claim probes every active endpoint');
select is((select count(*)::int from got where n = 1), 2, 'and claims a full batch');
select is(pg_catalog.current_setting('hookline.claim_cursor')::jsonb->>'c',
  (select '{' || endpoint_id || '}' from hookline.endpoints where name = 'crm'),
  'its candidates: the one endpoint it found with due work');
select cmp_ok(pg_temp.scans_of($$select pg_temp.claim_at(2, 2, '2026-03-01 10:01Z')$$), '<', 5::bigint,
  'the next claim probes the candidates alone, not the 300 idle endpoints');
select is((select count(*)::int from got where n = 2), 2, 'and claims a full batch from them');

-- New work on an idle endpoint, older than the candidates' work: it waits for the next full
-- probe, at most ten times the last one's duration (here 50 ms: half a second).
select pg_temp.probe_took(50);
select hookline.ingest('wa', 'wamid.late', 'whatsapp.idle7', '{}', null, '2026-03-01 09:00Z');
select cmp_ok(pg_temp.scans_of($$select pg_temp.claim_at(3, 2, '2026-03-01 10:01:00.4Z')$$), '<', 5::bigint,
  'within ten times the full probe''s duration, the candidates alone');
select is((select array_agg(url) from got where n = 3), array['http://127.0.0.1:9/crm', 'http://127.0.0.1:9/crm'],
  'the idle endpoint''s new work waits');
select cmp_ok(pg_temp.scans_of($$select pg_temp.claim_at(4, 2, '2026-03-01 10:01:00.5Z')$$), '>=', 301::bigint,
  'ten times its duration after the full probe, the next one');
select is((select array_agg(url order by url desc) from got where n = 4), array['http://127.0.0.1:9/idle7', 'http://127.0.0.1:9/crm'],
  'which finds the new work, oldest due first');
select is(pg_catalog.current_setting('hookline.claim_cursor')::jsonb->>'c',
  (select '{' || string_agg(endpoint_id::text, ',' order by endpoint_id) || '}' from hookline.endpoints where name in ('crm', 'idle7')),
  'its candidates: both endpoints it found with due work');
select pg_temp.claim_at(41, 2, '2026-03-01 10:01:00.5Z');
select is(pg_catalog.current_setting('hookline.claim_cursor')::jsonb->>'c',
  (select '{' || endpoint_id || '}' from hookline.endpoints where name = 'crm'),
  'a claim from the candidates keeps those it still found with due work');

-- A slow full probe (here 400 ms): at least one a second all the same.
select pg_temp.probe_took(400);
select hookline.ingest('wa', 'wamid.later', 'whatsapp.idle7', '{}', null, '2026-03-01 09:00Z');
select cmp_ok(pg_temp.scans_of($$select pg_temp.claim_at(5, 1, '2026-03-01 10:01:01.4Z')$$), '<', 5::bigint,
  'within the second, the candidates alone');
select is((select url from got where n = 5), 'http://127.0.0.1:9/crm', 'so the new work waits');
select cmp_ok(pg_temp.scans_of($$select pg_temp.claim_at(6, 1, '2026-03-01 10:01:01.5Z')$$), '>=', 301::bigint,
  'a second after the full probe, the next one, however long the last took');
select is((select url from got where n = 6), 'http://127.0.0.1:9/idle7', 'and the new work is claimed');

-- A claim from an earlier now than the full probe's: a full probe.
select cmp_ok(pg_temp.scans_of($$select pg_temp.claim_at(7, 1, '2026-03-01 10:01:01.4Z')$$), '>=', 301::bigint,
  'a claim at an earlier now than the last full probe''s probes every endpoint');

-- A short claim (fewer rows than max_rows) leaves no candidates: the next claim is a full probe.
select pg_temp.probe_took(1000);
select pg_temp.claim_at(8, 100, '2026-03-01 10:01:02Z');
select is((select count(*)::int from got where n = 8), 9, 'a claim of 100 takes crm''s last 9: short');
select is(pg_catalog.current_setting('hookline.claim_cursor')::jsonb->'c', 'null'::jsonb, 'no candidates after it');
select pg_temp.probe_took(1000);
select hookline.ingest('wa', 'wamid.new' || i, 'whatsapp.idle7', '{}', null, '2026-03-01 10:01:02Z') from generate_series(1, 3) i;
select cmp_ok(pg_temp.scans_of($$select pg_temp.claim_at(9, 2, '2026-03-01 10:01:02.1Z')$$), '>=', 301::bigint,
  'after a short claim, the next probes every endpoint');
select is((select count(*)::int from got where n = 9 and url like '%idle7'), 2, 'and finds the new work');

-- Candidates that give nothing: the same claim probes every endpoint before an empty answer.
select pg_temp.probe_took(1000);
select pg_temp.claim_at(10, 1, '2026-03-01 10:01:02.2Z');
select hookline.add_subscription('idle9', 'whatsapp.idle9');
select hookline.ingest('wa', 'wamid.nine' || i, 'whatsapp.idle9', '{}', null, '2026-03-01 10:01:02Z') from generate_series(1, 2) i;
select cmp_ok(pg_temp.scans_of($$select pg_temp.claim_at(11, 1, '2026-03-01 10:01:02.3Z')$$), '>=', 301::bigint,
  'candidates with nothing due: the same claim probes every active endpoint');
select is((select url from got where n = 11), 'http://127.0.0.1:9/idle9', 'and claims the new work of another');
-- A paused candidate gives nothing either.
select hookline.pause_endpoint('idle9', 'test');
select pg_temp.probe_took(1000);
select hookline.ingest('wa', 'wamid.crm.last', 'whatsapp.message.text', '{}', null, '2026-03-01 10:01:02Z');
select is((select array_agg(url) from hookline.claim('r', 1, '30 seconds', '2026-03-01 10:01:02.4Z')), array['http://127.0.0.1:9/crm'],
  'a paused candidate is not served; the others are found');

select * from finish();
rollback;
