begin;
select plan(7);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');

select throws_ok(
  $$select hookline.ingest_many('nope', array['x'], array['whatsapp.message.text'], array['{}'::jsonb])$$,
  'HL001', 'unknown source ''nope''',
  'an unknown source is HL001 and names the source'
);
select throws_ok(
  $$select hookline.ingest_many('wa', array['x', 'y'], array['whatsapp.message.text'], array['{}'::jsonb, '{}'])$$,
  'HL002', 'every array given must have one element per external id',
  'arrays of different lengths are HL002'
);
select throws_ok(
  $$select hookline.ingest_many('wa', array['x'], array['whatsapp.message.text'], array['{}'::jsonb], wa_ids => array['1', '2'])$$,
  'HL002', null, 'an optional array of another length is HL002'
);
select throws_ok(
  $$select hookline.ingest_many('wa', '{}', '{}', '{}')$$,
  'HL002', 'ingest_many takes 1 to 10000 events, not 0', 'an empty batch is HL002'
);
select throws_ok(
  $$select hookline.ingest_many('wa', array(select 'k' || i from generate_series(1, 10001) i),
      array_fill('whatsapp.message.text'::text, array[10001]), array_fill('{}'::jsonb, array[10001]))$$,
  'HL002', null, 'more than 10000 events is HL002'
);
select throws_ok(
  $$select hookline.ingest_many('wa', array['x', 'y'], array['whatsapp.message.text', 'WhatsApp Message'], array['{}'::jsonb, '{}'])$$,
  'HL002', 'invalid event type ''WhatsApp Message''',
  'one malformed event type is HL002 for the batch'
);
select is((select count(*)::int from hookline.event_keys), 0, 'nothing was stored by the failed calls');

select * from finish();
rollback;
