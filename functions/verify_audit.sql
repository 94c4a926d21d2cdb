create or replace function hookline.verify_audit()
returns table (audit_id bigint, problem text)
language sql
stable
set search_path = ''
as $$
  with chain as (
    select l.*, pg_catalog.lag(l.hash) over (order by l.audit_id) as expected_prev,
      pg_catalog.row_number() over (order by l.audit_id) as n
    from hookline.audit_log l
  )
  select c.audit_id, case
    when c.hash is distinct from hookline._audit_hash(c.prev_hash, c.audit_id, c.recorded_at, c.session_user_name,
      c.current_user_name, c.acting_role, c.action, c.tenant_id, c.target, c.reason, c.before, c.after)
      then 'altered: the row does not match its hash'
    when c.n = 1 and c.prev_hash is not null then 'rows before this one were deleted'
    else 'the row before this one was deleted or altered'
  end
  from chain c
  where c.hash is distinct from hookline._audit_hash(c.prev_hash, c.audit_id, c.recorded_at, c.session_user_name,
      c.current_user_name, c.acting_role, c.action, c.tenant_id, c.target, c.reason, c.before, c.after)
    or (c.n = 1 and c.prev_hash is not null)
    or (c.n > 1 and c.prev_hash is distinct from c.expected_prev)
  union all
  select h.audit_id, 'the newest rows were deleted: the chain''s head is this row, which is missing or altered'
  from hookline.audit_head h
  where not exists (select from hookline.audit_log l where l.audit_id = h.audit_id and l.hash = h.hash)
  order by 1
$$;

comment on function hookline.verify_audit() is
  'Checks the audit log''s hash chain: returns one row per problem (a row altered, rows deleted before it); no rows when the chain is intact. The head (hookline.audit_head) must be the newest row, so deleting the newest rows shows too, unless the head was rewritten as well: compare the count and the newest hash with a copy kept elsewhere (hookline audit verify prints them). Errors: none.';

-- Owner only: it reads every tenant's audit rows.
revoke all on function hookline.verify_audit() from public;
