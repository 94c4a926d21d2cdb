create or replace function hookline._breaker_record(target text, is_success boolean, now timestamptz)
returns text
language plpgsql
set search_path = ''
as $$
begin
  perform hookline._breaker_results(array[_breaker_record.target], array[_breaker_record.is_success], _breaker_record.now);
  return coalesce((select b.state from hookline.circuit_breakers b where b.target = _breaker_record.target), 'closed');
end
$$;

comment on function hookline._breaker_record(text, boolean, timestamptz) is
  'Private, for one result at a time (the outbox). Feeds one result to a target''s breaker (hookline._breaker_results has the policy) and returns its state; a success of a target that never failed is not counted (closed). Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._breaker_record(text,boolean,timestamp with time zone) from public;
