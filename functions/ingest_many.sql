create or replace function hookline.ingest_many(
  source text,
  external_ids text[],
  event_types text[],
  payloads jsonb[],
  occurred_ats timestamptz[] default null,
  received_at timestamptz default pg_catalog.now(),
  phone_number_ids text[] default null,
  user_ids text[] default null,
  wa_ids text[] default null,
  request_ids bigint[] default null,
  traceparents text[] default null
)
returns table (ord bigint, event_id bigint, is_new boolean)
language plpgsql
security definer
set search_path = ''
-- Index reads only: its source by name, planned while the sources fitted a page, was a
-- sequential read of every source on each call once a platform had thousands.
set enable_seqscan = off
set enable_bitmapscan = off
-- No JIT: a scan the settings above disable costs 10^10, past jit_above_cost.
set jit = off
as $$
declare
  v_source hookline.sources;
  v_n integer := coalesce(pg_catalog.cardinality(ingest_many.external_ids), 0);
begin
  select s.* into v_source from hookline.sources s where s.name = ingest_many.source;
  if not found then
    raise exception using
      errcode = 'HL001',
      message = format('unknown source %L', ingest_many.source),
      hint = 'hookline.sources lists the sources; add one first.';
  end if;
  if ingest_many.received_at is null then
    raise exception using errcode = 'HL002', message = 'received_at must not be null';
  end if;
  if v_n not between 1 and 10000 then
    raise exception using errcode = 'HL002', message = format('ingest_many takes 1 to 10000 events, not %s', v_n);
  end if;
  if coalesce(pg_catalog.cardinality(ingest_many.event_types), 0) <> v_n
     or coalesce(pg_catalog.cardinality(ingest_many.payloads), 0) <> v_n
     or pg_catalog.cardinality(ingest_many.occurred_ats) <> v_n
     or pg_catalog.cardinality(ingest_many.phone_number_ids) <> v_n
     or pg_catalog.cardinality(ingest_many.user_ids) <> v_n
     or pg_catalog.cardinality(ingest_many.wa_ids) <> v_n
     or pg_catalog.cardinality(ingest_many.request_ids) <> v_n
     or pg_catalog.cardinality(ingest_many.traceparents) <> v_n then
    raise exception using errcode = 'HL002', message = 'every array given must have one element per external id';
  end if;

  -- The events as one group, as a request's (hookline._ingest: keys, events and deliveries in
  -- one statement, one wake-up of the runners), so a batch costs a few statements, not a few
  -- per event. hookline.ingest is a batch of one.
  return query
  select i.ord, i.event_id, i.is_new
  from hookline._ingest(
    ingest_many.received_at,
    pg_catalog.array_fill(v_source.source_id, array[v_n]),
    pg_catalog.array_fill(v_source.tenant_id, array[v_n]),
    coalesce(ingest_many.request_ids, pg_catalog.array_fill(null::bigint, array[v_n])),
    coalesce(ingest_many.traceparents, pg_catalog.array_fill(null::text, array[v_n])),
    ingest_many.external_ids, ingest_many.event_types, ingest_many.payloads,
    coalesce(ingest_many.occurred_ats, pg_catalog.array_fill(null::timestamptz, array[v_n])),
    coalesce(ingest_many.phone_number_ids, pg_catalog.array_fill(null::text, array[v_n])),
    coalesce(ingest_many.user_ids, pg_catalog.array_fill(null::text, array[v_n])),
    coalesce(ingest_many.wa_ids, pg_catalog.array_fill(null::text, array[v_n])),
    pg_catalog.array_fill(null::jsonb, array[v_n])
  ) i;
end
$$;

comment on function hookline.ingest_many(text, text[], text[], jsonb[], timestamptz[], timestamptz, text[], text[], text[], bigint[], text[]) is
  'Stores a batch of parsed events of one source idempotently, in one transaction: element i of every array is event i (external_ids, event_types and payloads required; occurred_ats, phone_number_ids, user_ids, wa_ids, request_ids and traceparents optional, null for all), all received at received_at. What hookline.ingest does for each event, set-based: a key seen before (or earlier in the batch) is a duplicate and creates nothing. Returns (ord, event_id, is_new) per event in input order (ord from 1). Errors: HL001 unknown source; HL002 invalid argument (arrays of other lengths, more than 10000 events, an empty external_id, a malformed event type, a null payload; nothing is stored).';

-- SECURITY DEFINER: the ingress has no table privileges; it stores events only through this function.
revoke all on function hookline.ingest_many(text, text[], text[], jsonb[], timestamptz[], timestamptz, text[], text[], text[], bigint[], text[]) from public;
grant execute on function hookline.ingest_many(text, text[], text[], jsonb[], timestamptz[], timestamptz, text[], text[], text[], bigint[], text[]) to hookline_ingest;
