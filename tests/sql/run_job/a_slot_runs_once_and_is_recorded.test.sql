begin;
select plan(6);

select is(
  hookline.run_job('maintain_partitions', '2026-04-01 10:15Z', 'runner-a'),
  'succeeded',
  'the first call for a slot runs the job'
);
select is(
  hookline.run_job('maintain_partitions', '2026-04-01 10:15Z', 'runner-b'),
  'skipped',
  'a second call for the same slot skips it'
);
select results_eq(
  $$select run_by, status from hookline.job_runs$$,
  $$values ('runner-a'::text, 'succeeded'::text)$$,
  'one run is recorded, by the runner that ran it'
);
select alike(
  (select message from hookline.job_runs),
  'created % partitions; repaired 0 days from default partitions',
  'with the job''s summary'
);
select is(
  hookline.run_job('maintain_partitions', '2026-04-01 10:30Z', 'runner-b'),
  'succeeded',
  'the next slot runs again'
);
select throws_ok(
  $$select hookline.run_job('no_such_job')$$,
  'HL100', 'unknown job ''no_such_job''',
  'an unknown job is HL100'
);

select * from finish();
rollback;
