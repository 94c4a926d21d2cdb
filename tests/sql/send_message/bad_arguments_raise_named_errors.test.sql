begin;
select plan(9);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_source('acme', 'bare', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1');

select throws_ok($$select hookline.send_message('nope', '+1650555', '{"type": "text", "text": {}}', 'k')$$, 'HL001', null, 'unknown source');
select throws_ok($$select hookline.send_message('bare', '+1650555', '{"type": "text", "text": {}}', 'k')$$, 'HL060', null, 'a source without sender');
select throws_ok($$select hookline.send_message('wa', 'alice', '{"type": "text", "text": {}}', 'k')$$, 'HL061', null, 'a recipient that is neither a number nor a user id');
select throws_ok($$select hookline.send_message('wa', '+1650555', '{"type": "text"}', 'k')$$, 'HL061', null, 'a body without its type object');
select throws_ok($$select hookline.send_message('wa', '+1650555', '{"type": "text", "text": {}, "to": "+1"}', 'k')$$, 'HL061', null, 'a body that names its own recipient');
select throws_ok($$select hookline.send_message('wa', '+1650555', '{"type": "text", "text": {}}', '')$$, 'HL061', null, 'an empty key');
select hookline.add_sender('wa', '1066', 'EAAG-token-2');
select throws_ok($$select hookline.send_message('wa', '+1650555', '{"type": "text", "text": {}}', 'k')$$, 'HL067', null, 'two senders and none named');
select throws_ok($$select hookline.add_sender('wa', 'abc', 'EAAG-token-3')$$, 'HL062', null, 'a phone number id that is not digits');
select is((select count(*)::int from hookline.outbox), 0, 'nothing was queued');

select * from finish();
rollback;
