begin;
select plan(8);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'api', 'standard-webhooks', '{whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm');
select hookline.add_subscription('crm', '*');

-- Ids a btree entry cannot hold (about 2.7 kB; these do not compress): 3,200 and 2,100 bytes of
-- hex. And one of 2,048 bytes, the longest kept as given: any id up to that length could be
-- stored before, so its key never changes.
create temp table ids as
select (select string_agg(md5(i::text), '') from generate_series(1, 100) i) as long,
       (select left(string_agg(md5((-i)::text), ''), 2100) from generate_series(1, 100) i) as longer_than_kept,
       (select left(string_agg(md5((i * 7)::text), ''), 2048) from generate_series(1, 100) i) as kept;

select results_eq(
  $$select is_new from hookline.ingest('api', (select long from ids), 'invoice.paid', '{"n": 1}')$$,
  array[true],
  'an id longer than an index entry can hold is stored, not refused'
);
select results_eq(
  $$select is_new from hookline.ingest('api', (select long from ids), 'invoice.paid', '{"n": 2}')$$,
  array[false],
  'and the same id again is a duplicate'
);
select results_eq(
  $$select ord, is_new from hookline.ingest_many('api', array[(select longer_than_kept from ids), (select kept from ids), (select long from ids), (select longer_than_kept from ids)],
                                                 array['a.b', 'a.b', 'a.b', 'a.b'], array['{}', '{}', '{}', '{}']::jsonb[])$$,
  $$values (1::bigint, true), (2, true), (3, false), (4, false)$$,
  'in a batch too, with a repeat inside the batch'
);
select is(
  (select array_agg(e.external_id order by e.event_id) from hookline.events e),
  (select array['sha256:' || encode(sha256(convert_to(long, 'UTF8')), 'hex'),
                'sha256:' || encode(sha256(convert_to(longer_than_kept, 'UTF8')), 'hex'),
                kept] from ids),
  'the event and its key hold the id''s SHA-256 digest (as a WhatsApp id over 512 bytes), an id of 2,048 bytes as given'
);
select is((select count(*)::int from hookline.event_keys k join hookline.events e using (event_id) where k.external_id = e.external_id), 3,
  'each key is its event''s');
select is((select count(*)::int from hookline.deliveries), 3, 'one delivery per new event');

-- A Standard Webhooks request is keyed by its webhook-id header: an overlong one too.
select results_eq(
  $$select new_event_count, error_code from hookline.receive_many(array['api', 'api'], array['{"type": "invoice.paid"}', '{"type": "invoice.paid"}'],
      array['\x01', '\x02']::bytea[], array[jsonb_build_object('webhook-id', 'msg_' || (select long from ids)), '{"webhook-id": "msg_1"}'::jsonb],
      array[null, null]::jsonb[]) order by ord$$,
  $$values (1, null::text), (1, null)$$,
  'a request with an overlong webhook-id is stored with its group'
);
select results_eq(
  $$select new_event_count from hookline.receive('api', '{"type": "invoice.paid"}', '\x03', jsonb_build_object('webhook-id', 'msg_' || (select long from ids)))$$,
  array[0],
  'and is a duplicate when it comes again'
);

select * from finish();
rollback;
