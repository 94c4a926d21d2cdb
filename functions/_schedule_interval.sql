create or replace function hookline._schedule_interval(schedule text)
returns interval
language plpgsql
immutable
set search_path = ''
as $$
begin
  -- PL/pgSQL, not SQL: PostgreSQL 15 plans the body of a SQL function that is not inlined
  -- (set search_path, security definer) on every call; PL/pgSQL keeps its plan per session
  -- (docs/performance.md, "Plans that stay good").
  -- The longest gap between two firings of a five-field cron schedule: exact for the minute
  -- and hour fields (steps, ranges, lists), an upper bound when day, month or weekday are set.
  return (
    with f as (
      select pg_catalog.regexp_split_to_array(pg_catalog.btrim(_schedule_interval.schedule), '\s+') as f
    ), field as (
      select case when f[2] = '*' then f[1] else f[2] end as spec,
        case when f[2] = '*' then 60 else 24 end as n,
        case when f[2] = '*' then interval '1 minute' else interval '1 hour' end as unit,
        f
      from f
    ), parts as (
      select p.p, pg_catalog.split_part(p.p, '/', 1) as r,
        pg_catalog.split_part(p.p, '/', 2) as step, field.n
      from field, pg_catalog.unnest(pg_catalog.string_to_array(field.spec, ',')) p(p)
    ), vals as (
      select distinct g
      from parts,
        pg_catalog.generate_series(
          case when r = '*' then 0 else pg_catalog.split_part(r, '-', 1)::integer end,
          case when r = '*' or (r !~ '-' and step <> '') then n - 1
               when r ~ '-' then pg_catalog.split_part(r, '-', 2)::integer
               else r::integer end,
          coalesce(nullif(step, '')::integer, 1)) g
    ), gaps as (
      select coalesce(pg_catalog.lead(g) over (order by g), pg_catalog.min(g) over () + (select n from field)) - g as gap
      from vals
    )
    select case
      when array_length(field.f, 1) <> 5 then null
      when field.f[4] <> '*' then interval '366 days'
      when field.f[3] <> '*' then interval '31 days'
      when field.f[5] <> '*' then interval '7 days'
      else (select pg_catalog.max(gap) from gaps) * field.unit
    end
    from field
  );
end
$$;

comment on function hookline._schedule_interval(text) is
  'Internal. The longest time between two firings of a five-field cron schedule (an upper bound of 7, 31 or 366 days when weekday, day or month is set); null for what it cannot read. Used by stale_jobs. Errors: 22P02 for a field that is not numeric.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._schedule_interval(text) from public;
