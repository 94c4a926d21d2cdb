begin;
select plan(14);

-- One result at a time, and the breaker's state after it.
create function pg_temp.record(target text, is_success boolean, now timestamptz) returns text language plpgsql as $$
begin
  perform hookline._breaker_results(array[target], array[is_success], now);
  return coalesce((select b.state from hookline.circuit_breakers b where b.target = record.target), 'closed');
end
$$;

-- Failures in a row.
select pg_temp.record('endpoint:1', false, '2026-03-01 10:00:00Z') from generate_series(1, 9);
select is(hookline._breaker_room('endpoint:1', '2026-03-01 10:00:01Z'), null, 'closed after 9 failures: no limit');
select is(pg_temp.record('endpoint:1', false, '2026-03-01 10:00:01Z'), 'open', 'the 10th failure in a row opens it');
select is(hookline._breaker_room('endpoint:1', '2026-03-01 10:00:30Z'), 0, 'open: nothing during the cool-down');
select is(hookline._breaker_room('endpoint:1', '2026-03-01 10:00:31Z'), 10, 'after 30 s half-open: ten probes');
select is(pg_temp.record('endpoint:1', false, '2026-03-01 10:00:32Z'), 'half_open', 'one failed probe decides nothing');
select pg_temp.record('endpoint:1', false, '2026-03-01 10:00:32Z') from generate_series(1, 8);
select is(pg_temp.record('endpoint:1', false, '2026-03-01 10:00:33Z'), 'open', 'a sample of ten failed probes reopens it');
select is((select open_until from hookline.circuit_breakers where target = 'endpoint:1'), '2026-03-01 10:01:33Z'::timestamptz,
  'with the cool-down doubled');
select is(hookline._breaker_room('endpoint:1', '2026-03-01 10:01:33Z'), 10, 'half-open again after 60 s');

-- A flapping endpoint: 35 % of probes succeed. Each sample of ten has three or four successes:
-- it keeps probing (throttled to ten in flight), neither starved nor let loose.
select pg_temp.record('endpoint:1', (i * 7) % 20 < 7, '2026-03-01 10:01:34Z'::timestamptz + i * interval '1 second')
from generate_series(0, 99) i;
select is((select state from hookline.circuit_breakers where target = 'endpoint:1'), 'half_open',
  'at 35 % successes it stays half-open, sample after sample');
select is(hookline._breaker_room('endpoint:1', '2026-03-01 10:04:00Z'), 10, 'and keeps taking ten at a time');
select pg_temp.record('endpoint:1', true, '2026-03-01 10:04:00Z') from generate_series(1, 8);
select is(pg_temp.record('endpoint:1', false, '2026-03-01 10:04:01Z'), 'half_open', 'nine results are not a sample');
select is(pg_temp.record('endpoint:1', true, '2026-03-01 10:04:02Z'), 'closed',
  'nine of ten probes succeeding close it (fewer than a quarter failed)');
select is((select array_agg(to_state order by transition_id) from hookline.breaker_transitions where target = 'endpoint:1'),
  array['open', 'half_open', 'open', 'half_open', 'closed'], 'every transition is recorded');

-- A failure rate over a window with a minimum count.
select pg_temp.record('endpoint:2', (i % 2 = 0), '2026-03-01 10:00:00Z'::timestamptz + i * interval '1 second')
from generate_series(1, 19) i;
select is(pg_temp.record('endpoint:2', true, '2026-03-01 10:00:20Z'), 'open',
  'half of 20 results failing within the window opens it, though never 10 in a row');

select * from finish();
rollback;
