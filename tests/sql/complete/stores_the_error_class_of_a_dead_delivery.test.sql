begin;
select plan(3);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100, retry_schedule => '{}');
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 3) i;
create temp table c as
select row_number() over (order by delivery_id) as n, * from hookline.claim('r1', 100, '30 seconds', '2026-03-01 10:00Z');
select * from hookline.complete(
  (select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token) || r.result)
   from c join (values
     (1, '{"status_code": 503}'::jsonb),
     (2, '{"error_class": "timeout"}'),
     (3, '{"error_class": "refused", "response_excerpt": "10.0.0.1 is not allowed"}')
   ) r(n, result) using (n)),
  '2026-03-01 10:00:05Z'
);

select is((select array_agg(l.error_class order by c.n) from hookline.dead_letters l join c using (delivery_id)),
  array['http_503', 'timeout', 'refused'], 'complete stores the class of the last attempt');
select is((select array_agg(q.error_class order by c.n) from hookline.dead_letter_queue q join c using (delivery_id)),
  array['http_503', 'timeout', 'refused'], 'the operators'' view reads it');
select hookline.discard(array[(select delivery_id from c where n = 1)], 'noise', '2026-03-01 10:01Z');
select is((select q.error_class from hookline.dead_letter_queue q join c using (delivery_id) where c.n = 1),
  'discarded', 'a discarded delivery reads as discarded');

select * from finish();
rollback;
