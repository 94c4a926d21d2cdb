-- The senders and their breakers of a batch's numbers, locked in the lock order of
-- docs/outbound.md ("Lock order": senders sorted, then their breakers sorted), one definition
-- for complete_messages and receive_many's status groups, which call it at their top before
-- they lock messages.
create or replace function hookline._lock_senders(phone_number_ids text[])
returns void
language plpgsql
set search_path = ''
as $$
begin
  -- Each row by a probe of its key, in the numbers' sorted order (a lateral subquery per
  -- number: the locks are taken in the order of the probes). Not `= any (ids)` with an ORDER
  -- BY: a plan made while the table was drained (vacuumed while nearly empty: statistics of 0
  -- pages) read the whole primary key in its order instead, the ids as a filter, every number
  -- of the platform in each call (10,004 senders per complete at 10,000 numbers).
  perform
  from (select distinct p.phone_number_id from pg_catalog.unnest(_lock_senders.phone_number_ids) as p(phone_number_id)
        order by p.phone_number_id) p
  cross join lateral (
    select from hookline.senders s where s.phone_number_id = p.phone_number_id for no key update
  ) s;
  perform
  from (select distinct 'sender:' || p.phone_number_id as target
        from pg_catalog.unnest(_lock_senders.phone_number_ids) as p(phone_number_id)
        order by 1) t
  cross join lateral (
    select from hookline.circuit_breakers b where b.target = t.target for update
  ) b;
end
$$;

comment on function hookline._lock_senders(text[]) is
  'Private, for complete_messages and receive_many: locks the senders of the given numbers (for no key update), then their breakers (sender:<phone_number_id>, for update), each set in sorted order, each row by its key; numbers without a sender or a breaker lock nothing. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._lock_senders(text[]) from public;
