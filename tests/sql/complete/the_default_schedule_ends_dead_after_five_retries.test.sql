begin;
select plan(8);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.1', 'whatsapp.message.text', '{}', null, '2026-03-01 00:00Z');
create temp table ladder (attempt int, failed_at timestamptz, outcome text, next_at timestamptz);
do $$
declare
  v_now timestamptz := '2026-03-01 00:00Z';
  v_c record;
  v_o record;
begin
  for i in 1..6 loop
    select * into strict v_c from hookline.claim('r1', 1, '30 seconds', v_now);
    select * into strict v_o from hookline.complete(
      jsonb_build_array(jsonb_build_object('delivery_id', v_c.delivery_id, 'lease_token', v_c.lease_token, 'status_code', 503)),
      v_now + interval '1 second');
    insert into ladder values (v_c.attempt, v_now + interval '1 second', v_o.outcome, v_o.next_attempt_at);
    v_now := coalesce(v_o.next_attempt_at, v_now);
  end loop;
end
$$;
select is((select array_agg(attempt order by attempt) from ladder), array[1, 2, 3, 4, 5, 6], 'the first attempt and five retries');
select ok((select next_at - failed_at between interval '1 minute' and interval '72 seconds' from ladder where attempt = 1), 'retry 1 after 1 min (+ jitter)');
select ok((select next_at - failed_at between interval '10 minutes' and interval '12 minutes' from ladder where attempt = 2), 'retry 2 after 10 min');
select ok((select next_at - failed_at between interval '1 hour' and interval '72 minutes' from ladder where attempt = 3), 'retry 3 after 1 h');
select ok((select next_at - failed_at between interval '4 hours' and interval '288 minutes' from ladder where attempt = 4), 'retry 4 after 4 h');
select ok((select next_at - failed_at between interval '12 hours' and interval '864 minutes' from ladder where attempt = 5), 'retry 5 after 12 h');
select is((select (outcome, next_at)::text from ladder where attempt = 6), '(dead,)', 'the sixth failure is dead');
select is((select (state, attempt_count, reason)::text from hookline.dead_letters), '(dead,6,"retries exhausted after 6 attempts; last: 503")', 'and the DLQ says why');

select * from finish();
rollback;
