begin;
select plan(4);

-- A WhatsApp source with a sender (and the sender's queued messages) failed with a foreign key
-- violation (23503), an undocumented error; it is refused with HL045, and the source, its
-- sender and its messages stay (found by auditing remove_source for benchmarks/delivery_fuzz.py).
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1');
select hookline.send_message('wa', '+16505550001', '{"type": "text", "text": {"body": "x"}}', 'a');

select throws_ok($$select hookline.remove_source('wa')$$, 'HL045',
  'source ''wa'' has 1 senders', 'a source with senders is refused with a named error');
select is((select count(*)::int from hookline.outbox), 1, 'its queued message stays');

select hookline.add_source('acme', 'plain', 'standard-webhooks', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
select lives_ok($$select hookline.remove_source('plain')$$, 'a source without senders is removed');
select throws_ok($$select hookline.remove_source('plain')$$, 'HL001', null, 'and is unknown after');

select * from finish();
rollback;
