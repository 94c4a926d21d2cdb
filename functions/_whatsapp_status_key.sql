-- A status item's key, for both statements of hookline._whatsapp_split (the common shape's and
-- the general one), inlined there (plain SQL, no SET clause, a single expression).
create or replace function hookline._whatsapp_status_key(item jsonb, field text)
returns text
language sql
-- Stable, not immutable: convert_to is stable, and a function declared immutable whose body is
-- not is never inlined.
stable
as $$
  select case
    -- A call's status (field calls, or type call).
    when _whatsapp_status_key.item->>'type' = 'call' or _whatsapp_status_key.field = 'calls' then
      'call:' || (_whatsapp_status_key.item->>'id') || ':status:'
      || pg_catalog.lower(coalesce(_whatsapp_status_key.item->>'status', ''))
    -- A payment's status (Payments API India: captured, pending, failed) is not a message
    -- status: one payment reports the same status again for each new transaction (a user who
    -- retries after a failed attempt: pending, then pending again), so the id and the status
    -- do not tell two notifications apart. Keyed by the whole item's digest (its transaction,
    -- amounts and times): a retry of the same notification keeps its key, any new one gets
    -- another. It starts with the id, so event_log hashes a wamid in it.
    when _whatsapp_status_key.item->>'type' = 'payment' then
      (_whatsapp_status_key.item->>'id') || ':payment:' || coalesce(_whatsapp_status_key.item->>'status', '') || ':'
      || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(_whatsapp_status_key.item::text, 'UTF8')), 'hex')
    -- A message's status, per group participant when it names one.
    else
      (_whatsapp_status_key.item->>'id') || ':' || coalesce(_whatsapp_status_key.item->>'status', '')
      || coalesce(':' || coalesce(_whatsapp_status_key.item->>'recipient_participant_id',
                                  _whatsapp_status_key.item->>'recipient_participant_user_id'), '')
  end
$$;

comment on function hookline._whatsapp_status_key(jsonb, text) is
  'Inlinable (no SET clause), private, for hookline._whatsapp_split: the key of a status item (value.statuses[]) of a change of field: call:<id>:status:<status> for a call''s status (field calls or type call), <id>:payment:<status>:<sha256 of the item> for a payment''s, <id>:<status>[:<participant>] for a message''s. Pure. Errors: none of its own.';

revoke all on function hookline._whatsapp_status_key(jsonb, text) from public;
