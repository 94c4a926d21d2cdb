begin;
select plan(6);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm');
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{"text": "hi"}', null, '2026-03-01 10:00Z')
from generate_series(1, 3) i;
set local synchronous_commit = on;

select is_empty($$select * from hookline.claim('r1', 10, '30 seconds', '2026-03-01 09:59Z')$$, 'nothing is due yet');
select is(current_setting('synchronous_commit'), 'on', 'a claim that leases nothing leaves the commit as it was');
create temp table c1 as select * from hookline.claim('r1', 2, '30 seconds', '2026-03-01 10:00Z');
select is(current_setting('synchronous_commit'), 'off', 'a claim that leases commits without waiting for the flush (this transaction)');
select is((select count(distinct lease_token)::int from c1), 2, 'each lease has a token of its own');
select is((select count(*)::int from c1 where right(replace(lease_token::text, '-', ''), 16) = lpad(to_hex(delivery_id), 16, '0')
             and left(lease_token::text, 19) = (select left(min(lease_token::text), 19) from c1)), 2,
  'the tokens of one claim: its random head, then the delivery id');
create temp table c2 as select * from hookline.claim('r1', 2, '30 seconds', '2026-03-01 10:00:01Z');
select isnt((select left(lease_token::text, 19) from c2), (select left(min(lease_token::text), 19) from c1),
  'another claim draws another head');

select * from finish();
rollback;
