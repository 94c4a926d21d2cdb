-- On the clock (no now given), a claim's rows are claimed at the clock time read just before
-- its number's claiming statement, and send_within_ms is the margin plus the time from the
-- statement's start to then: a runner measures it from before it sent the claim, so a claim
-- that waited before its first row still leaves that row the whole margin. Once a claim has run
-- for m / 2 since its first claimed row, it takes no further number: what it returns has at
-- least the other half of the margin to go. Here each number's claiming statement takes 150 ms
-- (a trigger sleeps), so a claim of two numbers' messages returns the first number's only.
begin;
select plan(5);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1');
select hookline.add_sender('wa', '2065', 'EAAG-token-2');
select hookline.send_message('wa', '+1650555' || lpad(i::text, 4, '0'), '{"type": "text", "text": {"body": "x"}}', 'k' || i,
  phone_number_id => case when i <= 3 then '1065' else '2065' end, now => now() - interval '1 minute' + i * interval '1 second')
from generate_series(1, 6) i;

create function pg_temp.slow() returns trigger language plpgsql as $$
begin
  perform pg_sleep(0.15);
  return null;
end $$;
create trigger slow after update of last_claimed_at on hookline.outbox
  for each statement execute function pg_temp.slow();

create temp table first as
select c.*, pg_catalog.statement_timestamp() as started, pg_catalog.clock_timestamp() as returned
from hookline.claim_messages('r1', 100, '30 seconds') c;

select is((select array_agg(distinct phone_number_id) from first), '{1065}'::text[],
  'the claim stops after the first number: its claiming statement ran past half the margin');
select is((select count(*)::int from first), 3, 'all of the first number''s due messages');
select ok((select bool_and(o.last_claimed_at >= f.started) from first f join hookline.outbox o using (message_id)),
  'claimed at the clock, not at the statement''s start');
select ok((select bool_and(f.send_within_ms between 250 and 250 + extract(epoch from o.last_claimed_at - f.started) * 1000 + 1)
           from first f join hookline.outbox o using (message_id)),
  'send_within_ms: the margin plus the time from the statement''s start to the claim');

select is((select array_agg(distinct phone_number_id) from hookline.claim_messages('r1', 100, '30 seconds')), '{2065}'::text[],
  'the next claim takes the other number');
select * from finish();
rollback;
