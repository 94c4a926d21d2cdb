begin;
select plan(12);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 100);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select hookline.ingest('wa', 'wamid.' || i, 'whatsapp.message.text', '{}', null, '2026-03-01 10:00Z') from generate_series(1, 8) i;
create temp table c as
select row_number() over (order by delivery_id) as n, * from hookline.claim('r1', 100, '30 seconds', '2026-03-01 10:00Z');
create temp table outcome as
select * from hookline.complete(
  (select jsonb_agg(jsonb_build_object('delivery_id', delivery_id, 'lease_token', lease_token, 'duration_ms', 12) || r.result)
   from c join (values
     (1, '{"status_code": 200, "response_excerpt": "ok"}'::jsonb),
     (2, '{"status_code": 500}'),
     (3, '{"error_class": "timeout"}'),
     (4, '{"status_code": 429, "retry_after_s": 7}'),
     (5, '{"status_code": 404}'),
     (6, '{"status_code": 410}'),
     (7, '{"status_code": 409}'),
     (8, '{"status_code": 429, "retry_after_s": 999999}')
   ) r(n, result) using (n)),
  '2026-03-01 10:00:05Z'
) join c using (delivery_id);

select is((select outcome from outcome where n = 1), 'succeeded', '2xx succeeds');
select ok(not exists (select from hookline.deliveries d join c using (delivery_id) where c.n = 1), 'and the row leaves the hot table');
select is((select array_agg(outcome order by n) from outcome where n in (2, 3, 7)), array['retrying', 'retrying', 'retrying'], '500, a timeout and 409 retry');
select ok((select bool_and(next_attempt_at between '2026-03-01 10:01:05Z' and '2026-03-01 10:01:17Z') from outcome where n in (2, 3, 7)),
  'after the first step of the schedule (1 min) plus at most 20 % jitter');
select is((select next_attempt_at from outcome where n = 4), '2026-03-01 10:00:12Z'::timestamptz, 'Retry-After (7 s) is honoured');
select is((select next_attempt_at from outcome where n = 8), '2026-03-02 10:00:05Z'::timestamptz, 'Retry-After is capped at 24 h');
select is((select (l.state, l.reason)::text from hookline.dead_letters l join c using (delivery_id) where c.n = 5),
  '(dead,"permanent: the endpoint answered 404")', '404 is permanent: dead at once, in the DLQ');
select is((select outcome from outcome where n = 6), 'dead', '410 is dead too');
select is((select state from hookline.endpoints), 'paused', 'and pauses the endpoint');
select is((select count(*)::int from hookline.attempts), 8, 'every result is an attempt');
select is((select (attempt_number, status_code, duration_ms, response_excerpt, runner)::text from hookline.attempts a join c using (delivery_id) where c.n = 1),
  '(1,200,12,ok,r1)', 'with its number, status, duration, excerpt and runner');
select is((select array_agg(distinct state::text) from hookline.deliveries), array['retrying'], 'what is left in the queue is retrying');

select * from finish();
rollback;
