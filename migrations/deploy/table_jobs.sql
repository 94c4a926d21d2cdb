-- Deploy hookline:table_jobs to pg
-- requires: schema_hookline

BEGIN;

create table hookline.jobs (
  job_name text primary key,
  schedule text not null,
  description text not null,
  runs_in text not null default 'runner',
  is_enabled boolean not null default true,
  constraint jobs_job_name_format check (job_name ~ '^[a-z][a-z0-9_]{0,40}$'),
  constraint jobs_schedule_five_fields check (schedule ~ '^\S+( \S+){4}$'),
  constraint jobs_runs_in_known check (runs_in in ('pg_cron', 'runner'))
);

comment on table hookline.jobs is 'Housekeeping jobs: each is the function hookline.<job_name>(now timestamptz), run through hookline.run_job on a cron schedule, by pg_cron or by the runners.';
comment on column hookline.jobs.job_name is 'The job and the name of its function in schema hookline; its pg_cron job is named hookline-<job_name>.';
comment on column hookline.jobs.schedule is 'Five-field cron expression (minute hour day month weekday), UTC.';
comment on column hookline.jobs.description is 'What the job does, for operators.';
comment on column hookline.jobs.runs_in is 'Who triggers it: pg_cron (registered there) or runner (hookline runner evaluates the schedule).';
comment on column hookline.jobs.is_enabled is 'A disabled job is not run by the runners; hookline cron run still runs it.';

create table hookline.job_runs (
  run_id bigint generated always as identity primary key,
  job_name text not null references hookline.jobs (job_name) on delete cascade,
  scheduled_for timestamptz not null,
  started_at timestamptz not null,
  finished_at timestamptz not null,
  status text not null,
  message text,
  run_by text not null,
  constraint job_runs_one_run_per_slot unique (job_name, scheduled_for),
  constraint job_runs_status_known check (status in ('succeeded', 'failed')),
  constraint job_runs_finished_after_start check (finished_at >= started_at)
);

create index job_runs_job_name_started_at_idx on hookline.job_runs (job_name, started_at desc);

comment on table hookline.job_runs is 'One row per executed job run, like cron.job_run_details; the unique slot makes a run happen once however many runners fire it.';
comment on column hookline.job_runs.run_id is 'Surrogate key.';
comment on column hookline.job_runs.job_name is 'The job (hookline.jobs).';
comment on column hookline.job_runs.scheduled_for is 'The schedule slot this run serves (the minute pg_cron or a runner fired it for; now() for manual runs).';
comment on column hookline.job_runs.started_at is 'When the run started.';
comment on column hookline.job_runs.finished_at is 'When the run ended.';
comment on column hookline.job_runs.status is 'succeeded or failed.';
comment on column hookline.job_runs.message is 'The job''s result summary, or the error of a failed run.';
comment on column hookline.job_runs.run_by is 'pg_cron, a runner''s id, or cli.';

insert into hookline.jobs (job_name, schedule, description) values
  ('maintain_partitions', '*/15 * * * *', 'Create the next days'' partitions of every partitioned table and move rows out of default partitions.'),
  ('apply_retention', '37 * * * *', 'Drop day partitions older than their table''s retention, prune dedup keys and old job runs.');

COMMIT;
