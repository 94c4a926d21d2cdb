begin;
select plan(10);

-- Failures in a row.
select hookline._breaker_record('endpoint:1', false, '2026-03-01 10:00:00Z') from generate_series(1, 9);
select is(hookline._breaker_room('endpoint:1', '2026-03-01 10:00:01Z'), null, 'closed after 9 failures: no limit');
select is(hookline._breaker_record('endpoint:1', false, '2026-03-01 10:00:01Z'), 'open', 'the 10th failure in a row opens it');
select is(hookline._breaker_room('endpoint:1', '2026-03-01 10:00:30Z'), 0, 'open: nothing during the cool-down');
select is(hookline._breaker_room('endpoint:1', '2026-03-01 10:00:31Z'), 2, 'after 30 s half-open with two probes');
select is(hookline._breaker_record('endpoint:1', false, '2026-03-01 10:00:32Z'), 'open', 'a failed probe reopens it');
select is((select open_until from hookline.circuit_breakers where target = 'endpoint:1'), '2026-03-01 10:01:32Z'::timestamptz,
  'with the cool-down doubled');
select is(hookline._breaker_room('endpoint:1', '2026-03-01 10:01:32Z'), 2, 'half-open again after 60 s');
select hookline._breaker_record('endpoint:1', true, '2026-03-01 10:01:33Z');
select is(hookline._breaker_record('endpoint:1', true, '2026-03-01 10:01:34Z'), 'closed', 'two successful probes close it');
select is((select array_agg(to_state order by transition_id) from hookline.breaker_transitions where target = 'endpoint:1'),
  array['open', 'half_open', 'open', 'half_open', 'closed'], 'every transition is recorded');

-- A failure rate over a window with a minimum count.
select hookline._breaker_record('endpoint:2', (i % 2 = 0), '2026-03-01 10:00:00Z'::timestamptz + i * interval '1 second')
from generate_series(1, 19) i;
select is(hookline._breaker_record('endpoint:2', true, '2026-03-01 10:00:20Z'), 'open',
  'half of 20 results failing within the window opens it, though never 10 in a row');

select * from finish();
rollback;
