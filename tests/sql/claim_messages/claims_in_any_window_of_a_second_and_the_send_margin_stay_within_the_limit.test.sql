-- The rate limit holds on the sends' starts: a message claimed at t is started by t + m (the
-- send margin, 250 ms, returned as send_within_ms) or given back unsent, so claim_messages
-- counts a number's claims in (now - 1 s - m, now]: the sends started in any sliding second come
-- from claims within 1 s + m of one another. Before, the claims of (now - 1 s, now] were
-- counted: a second's claims started late plus the next second's started at once reached
-- WhatsApp in one second, up to twice the limit (benchmarks/outbox_ledger.py, issue 11).
begin;
select plan(11);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_source('acme', 'wa', 'whatsapp', 'app-secret');
select hookline.add_sender('wa', '1065', 'EAAG-token-1', messages_per_second => 3);
select hookline.send_message('wa', '+1650555' || lpad(i::text, 4, '0'), '{"type": "text", "text": {"body": "x"}}', 'k' || i, now => '2026-03-01 10:00Z')
from generate_series(1, 40) i;

-- A claim every 50 ms for 6 s.
create temp table claims (at timestamptz, message_id bigint, send_within_ms integer);
do $$
begin
  for i in 0..119 loop
    insert into claims
    select '2026-03-01 10:00Z'::timestamptz + i * interval '50 milliseconds', c.message_id, c.send_within_ms
    from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00Z'::timestamptz + i * interval '50 milliseconds') c;
  end loop;
end
$$;

select is((select array_agg(distinct send_within_ms) from claims), '{250}'::integer[],
  'each claimed message comes with its send deadline: started within 250 ms of its claim');
select cmp_ok((select max(n) from (select count(*) over (order by at range between interval '1.249999 s' preceding and current row) n from claims) w),
  '<=', 3::bigint, 'no more than messages_per_second claims in any window of 1 s + the margin');
select is((select max(n) from (select count(*) over (order by at range between interval '0.999999 s' preceding and current row) n from claims) w),
  3::bigint, 'so no more than that many sends start in any sliding second (and the limit is reached)');
select is((select count(*)::int from claims), 15,
  'at saturation, limit / (1 + m) a second: 3 claims every 1.25 s, 15 in 6 s (18 before)');
select is(hookline.next_message_due('2026-03-01 10:00:06.0Z'), '2026-03-01 10:00:06.25Z'::timestamptz,
  'a full window has room again 1.25 s after its oldest counted claim');

-- A message the runner could not start in time is given back unsent: queued again, no attempt
-- counted, and its claim still counts in the window (conservative: it was not sent).
create temp table late as select * from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00:06.25Z');
select is((select count(*)::int from hookline.release_messages('r1',
    (select jsonb_agg(jsonb_build_object('message_id', message_id, 'lease_token', lease_token)) from late),
    '2026-03-01 10:00:06.6Z')), 3, 'the late ones are released');
select is((select array_agg(distinct state::text || '/' || attempt_count) from hookline.outbox where message_id in (select message_id from late)),
  '{queued/0}', 'queued, no attempt counted');
select is((select count(*)::int from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00:07.4Z')), 0,
  'their claims still fill the window: nothing more until 1.25 s after them');
create temp table after as select * from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00:07.6Z');
select is((select count(*)::int from after where message_id in (select message_id from late)), 0,
  'once the window has room, others are claimed, not the given-back ones: their own claim counts for the pair limit');
-- The claims after it take the others due before them, and the first whose prefix of due
-- messages reaches them (the messages to take and 16 more) defers them.
create temp table reached as select * from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00:08.9Z');
insert into reached select * from hookline.claim_messages('r1', 100, '30 seconds', '2026-03-01 10:00:10.2Z');
select is((select array_agg(distinct o.next_attempt_at) from hookline.outbox o
           where o.message_id in (select message_id from late) and o.message_id not in (select message_id from reached)),
  array['2026-03-01 10:00:12.25Z'::timestamptz], 'they wait for pair_interval (6 s) after that claim, queued (conservative: they were not sent)');

create function pg_temp.plan(q text) returns text language plpgsql as $$
declare
  v_line text;
  v_plan text := '';
begin
  for v_line in execute 'explain (costs off) ' || q loop
    v_plan := v_plan || v_line || E'\n';
  end loop;
  return v_plan;
end
$$;
select unalike(pg_temp.plan('select * from hookline._sender_window(''1065'', 3, now())'), '%Function Scan%',
  'hookline._sender_window is inlined: the caller''s plan reads the outbox itself');

select * from finish();
rollback;
