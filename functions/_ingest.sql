create or replace function hookline._ingest(
  source_id bigint,
  tenant_id text,
  received_at timestamptz,
  request_id bigint,
  events jsonb,
  traceparent text default null
)
returns table (ord bigint, event_id bigint, is_new boolean)
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_bad record;
  v_ids bigint[];
  v_types text[];
begin
  -- events: a JSON array of {external_id, event_type, payload, occurred_at, phone_number_id,
  -- user_id, wa_id, sanitized}. One request's events are stored in a few set-based statements.
  select i.n, i.external_id, i.event_type, i.payload into v_bad
  from rows from (pg_catalog.jsonb_to_recordset(_ingest.events) as (external_id text, event_type text, payload jsonb)) with ordinality as i (external_id, event_type, payload, n)
  where coalesce(i.external_id, '') = '' or i.payload is null or pg_catalog.jsonb_typeof(i.payload) = 'null'
     or i.event_type is null or i.event_type !~ '^[a-z0-9_-]+(\.[a-z0-9_-]+)*$'
  limit 1;
  if found then
    raise exception using
      errcode = 'HL002',
      message = case when coalesce(v_bad.external_id, '') = '' then 'external_id must be a non-empty string'
                     when v_bad.payload is null or pg_catalog.jsonb_typeof(v_bad.payload) = 'null' then 'payload must not be null'
                     else format('invalid event type %L', v_bad.event_type) end,
      hint = 'Event types are dotted lowercase words, e.g. whatsapp.message.text.';
  end if;

  -- The key table decides: a key that exists means a duplicate, whatever partition its event
  -- is in. A concurrent duplicate waits here for the first transaction and then finds its key.
  -- A key twice in one request: the first occurrence counts.
  with input as (
    select distinct on (i.external_id) i.*
    from rows from (pg_catalog.jsonb_to_recordset(_ingest.events) as (external_id text, event_type text, payload jsonb, occurred_at timestamptz, phone_number_id text, user_id text, wa_id text, sanitized text[])) with ordinality as i (external_id, event_type, payload, occurred_at, phone_number_id, user_id, wa_id, sanitized, n)
    order by i.external_id, i.n
  ),
  keys as (
    insert into hookline.event_keys as k (source_id, external_id, event_id, received_at)
    select _ingest.source_id, i.external_id, nextval('hookline.events_event_id_seq'), _ingest.received_at
    from (select * from input order by n) i
    on conflict do nothing
    returning k.external_id, k.event_id
  ),
  stored as (
    insert into hookline.events as e (
      event_id, received_at, source_id, tenant_id, external_id, event_type, occurred_at, payload,
      phone_number_id, user_id, wa_id, request_id, sanitized, traceparent
    )
    select k.event_id, _ingest.received_at, _ingest.source_id, _ingest.tenant_id, i.external_id, i.event_type,
      i.occurred_at, i.payload, i.phone_number_id, i.user_id, i.wa_id, _ingest.request_id, i.sanitized,
      -- A malformed traceparent is dropped, never refused: the event matters, the trace less.
      case when _ingest.traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' then _ingest.traceparent end
    from keys k join input i on i.external_id = k.external_id
    returning e.event_id, e.event_type
  )
  select pg_catalog.array_agg(s.event_id order by s.event_id), pg_catalog.array_agg(s.event_type order by s.event_id)
  into v_ids, v_types
  from stored s;

  if v_ids is not null then
    perform hookline._fan_out(v_ids, v_types, _ingest.received_at, _ingest.tenant_id, _ingest.source_id);
  end if;

  -- A new statement, so a key committed by a concurrent duplicate is visible.
  return query
  select i.n, k.event_id, nw.id is not null and i.n = pg_catalog.min(i.n) over (partition by i.external_id)
  from rows from (pg_catalog.jsonb_to_recordset(_ingest.events) as (external_id text)) with ordinality as i (external_id, n)
  join hookline.event_keys k on k.source_id = _ingest.source_id and k.external_id = i.external_id
  left join pg_catalog.unnest(v_ids) as nw (id) on nw.id = k.event_id
  order by i.n;
end
$$;

comment on function hookline._ingest(bigint, text, timestamptz, bigint, jsonb, text) is
  'Private, the one place events are stored: the events of one request (a JSON array of {external_id, event_type, payload, occurred_at, phone_number_id, user_id, wa_id, sanitized}) for a source and tenant, received at received_at from raw request request_id, with the request''s W3C traceparent (dropped when malformed). Set-based: keys first (hookline.event_keys; an existing key is a duplicate), then the new events, then their deliveries (hookline._fan_out). Returns (ord, event_id, is_new) per input row, in input order (ord from 1). Errors: HL002 an empty external_id, a null payload or a malformed event type (nothing is stored).';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._ingest(bigint, text, timestamptz, bigint, jsonb, text) from public;
