-- hookline functions, in load order. Apply with psql after the migrations:
--   psql "$DSN" -v ON_ERROR_STOP=1 -f functions/index.sql
-- `hookline db deploy` reads this list too and re-applies a file whenever its text changes.
\ir _create_partition.sql
\ir premake_partitions.sql
\ir default_partition_rows.sql
\ir repair_default_partitions.sql
\ir ingest.sql
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
