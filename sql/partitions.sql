-- Purpose: the day partitions that exist, and rows waiting in default partitions (there
--          should be none; `select hookline.repair_default_partitions()` moves them).
-- Variables: none.
-- Reads: pg_catalog (any role); hookline.default_partition_rows() (owner only; others get a note).
-- Example: psql "$HOOKLINE_DSN" -f sql/partitions.sql
select
  parent.relname as table_name,
  count(child.oid) filter (where child.relname ~ '_p\d{8}$') as day_partitions,
  min(substring(child.relname from '_p(\d{8})$')) as first_day,
  max(substring(child.relname from '_p(\d{8})$')) as last_day
from pg_catalog.pg_inherits i
join pg_catalog.pg_class parent on parent.oid = i.inhparent
join pg_catalog.pg_class child on child.oid = i.inhrelid
where parent.relnamespace = 'hookline'::regnamespace
  and parent.relkind = 'p'  -- tables; partitioned indexes have partitions too
group by parent.relname
order by parent.relname;

select pg_catalog.has_function_privilege('hookline.default_partition_rows()', 'execute') as may_count
\gset
\if :may_count
select table_name, day, row_count from hookline.default_partition_rows();
\else
\echo 'rows in default partitions: only the owner may count them (select * from hookline.default_partition_rows())'
\endif
