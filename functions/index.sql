-- hookline functions, in load order. Apply with psql after the migrations:
--   psql "$DSN" -v ON_ERROR_STOP=1 -f functions/index.sql
-- `hookline db deploy` reads this list too and re-applies a file whenever its text changes.
\ir _create_partition.sql
\ir premake_partitions.sql
\ir default_partition_rows.sql
\ir repair_default_partitions.sql
\ir ingest.sql
\ir _drop_partition.sql
\ir maintain_partitions.sql
\ir apply_retention.sql
\ir run_job.sql
\ir job_status.sql
\ir set_job_schedule.sql
\ir set_job_runner.sql
\ir whatsapp_events.sql
\ir receive.sql
\ir list_sources.sql
\ir show_source.sql
\ir add_source.sql
\ir rotate_secret.sql
\ir retire_secret.sql
\ir remove_source.sql
\ir source_credentials.sql
\ir _fan_out.sql
\ir _endpoint_id.sql
\ir add_endpoint.sql
\ir pause_endpoint.sql
\ir resume_endpoint.sql
\ir remove_endpoint.sql
\ir add_subscription.sql
\ir remove_subscription.sql
\ir claim.sql
\ir complete.sql
\ir release.sql
\ir next_due.sql
\ir replay.sql
\ir discard.sql
