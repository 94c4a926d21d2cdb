begin;
select plan(3);

create function hookline.exploding_job(now timestamptz default now()) returns text
language plpgsql set search_path = '' as $$
begin
  insert into hookline.tenants (tenant_id, display_name) values ('half', 'half-done work');
  raise exception 'boom';
end
$$;
insert into hookline.jobs (job_name, schedule, description) values ('exploding_job', '* * * * *', 'fails');

select is(hookline.run_job('exploding_job', '2026-04-01 10:00Z', 'runner-a'), 'failed', 'the run fails without raising');
select results_eq(
  $$select status, message from hookline.job_runs where job_name = 'exploding_job'$$,
  $$values ('failed'::text, 'P0001: boom'::text)$$,
  'the failure and its error are recorded'
);
select is_empty($$select from hookline.tenants where tenant_id = 'half'$$, 'the job''s own work is rolled back');

select * from finish();
rollback;
