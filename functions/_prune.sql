create or replace function hookline._prune(statement text, cutoff timestamptz, budget interval)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  c_batch constant integer := 10000;
  v_started timestamptz := pg_catalog.clock_timestamp();
  v_n bigint;
  v_total bigint := 0;
begin
  -- Batches of 10,000 until the statement finds fewer or the budget is spent: a run's cost
  -- follows what it deletes (the statements read by index), never the history it keeps.
  loop
    execute _prune.statement using c_batch, _prune.cutoff;
    get diagnostics v_n = row_count;
    v_total := v_total + v_n;
    exit when v_n < c_batch or pg_catalog.clock_timestamp() - v_started >= _prune.budget;
  end loop;
  return v_total;
end
$$;

comment on function hookline._prune(text, timestamptz, interval) is
  'Private, for apply_retention. Runs a delete statement that takes $1 (a batch size) and $2 (the cutoff) until it deletes fewer than a batch of 10,000 or budget has passed; returns the rows deleted. Errors: those of the statement.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._prune(text,timestamp with time zone,interval) from public;
