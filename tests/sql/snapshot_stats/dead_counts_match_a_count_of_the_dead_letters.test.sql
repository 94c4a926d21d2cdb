begin;
select plan(6);

-- snapshot_stats reads each endpoint's dead letters from hookline.dead_letter_counts (changes
-- appended by the dead_letters triggers, folded by each run) instead of counting them: after
-- inserts, state changes and deletes over several endpoints its figure is the count it made before.
insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_endpoint('acme', 'ep-' || i, 'http://127.0.0.1:9/' || i) from generate_series(1, 3) i;

create function pg_temp.check_minute(step integer, minute integer) returns setof text language plpgsql as $$
begin
  perform hookline.snapshot_stats('2026-03-01 10:00Z'::timestamptz + minute * interval '1 minute');
  return query select results_eq(
    format($q$select s.endpoint_id::integer, s.dead_count from hookline.stats_snapshots s
              where s.taken_at = '2026-03-01 10:00Z'::timestamptz + %s * interval '1 minute' order by 1$q$, minute),
    $q$select e.endpoint_id::integer,
         (select count(*) from hookline.dead_letters d where d.endpoint_id = e.endpoint_id and d.state = 'dead')::integer
       from hookline.endpoints e order by 1$q$,
    format('step %s: the dead counts are those a count of dead_letters gives', step));
end
$$;

insert into hookline.dead_letters (delivery_id, endpoint_id, event_id, event_received_at, created_at, finished_at,
  attempt_count, generation, state, tenant_id, reason)
select i, e.endpoint_id, i, '2026-03-01 09:00Z', '2026-03-01 09:00Z', '2026-03-01 09:00Z', 5, 1,
  case when i % 4 = 0 then 'discarded' else 'dead' end::hookline.delivery_state, 'acme', 'gave up'
from generate_series(1, 40) i
join hookline.endpoints e on e.name = 'ep-' || (1 + i % 3);
select * from pg_temp.check_minute(1, 1);

-- Replayed or discarded (state changes both ways), across endpoints in one statement.
update hookline.dead_letters set state = 'discarded' where delivery_id % 5 = 0 and state = 'dead';
update hookline.dead_letters set state = 'dead' where delivery_id in (4, 8, 12);
select * from pg_temp.check_minute(2, 2);

-- Pruned, and more dead letters in the same minute.
delete from hookline.dead_letters where delivery_id between 10 and 25;
insert into hookline.dead_letters (delivery_id, endpoint_id, event_id, event_received_at, created_at, finished_at,
  attempt_count, generation, state, tenant_id, reason)
select 100 + i, (select min(endpoint_id) from hookline.endpoints), i, '2026-03-01 09:00Z', '2026-03-01 09:00Z',
  '2026-03-01 09:00Z', 5, 1, 'dead', 'acme', 'gave up'
from generate_series(1, 7) i;
select * from pg_temp.check_minute(3, 3);

select is(
  (select count(*) from hookline.dead_letter_counts)::integer,
  (select count(distinct endpoint_id) from hookline.dead_letters where state = 'dead')::integer,
  'after a run, one folded row per endpoint with dead letters'
);

-- Every dead letter of an endpoint gone: its row folds away.
delete from hookline.dead_letters where endpoint_id = (select max(endpoint_id) from hookline.endpoints);
select * from pg_temp.check_minute(4, 4);
select ok(
  not exists (select from hookline.dead_letter_counts c
              where c.endpoint_id = (select max(endpoint_id) from hookline.endpoints)),
  'an endpoint without dead letters keeps no row'
);

select * from finish();
rollback;
