-- The signature changed (the events of several requests at once, then one array per column
-- instead of a JSON array): drop the older forms on redeploy.
drop function if exists hookline._ingest(bigint, text, timestamptz, bigint, jsonb, text);
drop function if exists hookline._ingest(timestamptz, jsonb);
-- Its deliveries are created by its own statement now (hookline._fan_out is gone; hookline db
-- deploy drops a function whose file is gone, psql -f functions/index.sql does not).
drop function if exists hookline._fan_out(bigint[], text[], text[], bigint[], timestamptz);

create or replace function hookline._ingest(
  received_at timestamptz,
  source_ids bigint[],
  tenant_ids text[],
  request_ids bigint[],
  traceparents text[],
  external_ids text[],
  event_types text[],
  payloads jsonb[],
  occurred_ats timestamptz[],
  phone_number_ids text[],
  user_ids text[],
  wa_ids text[],
  sanitized jsonb[]
)
returns table (ord bigint, event_id bigint, is_new boolean)
language plpgsql
set search_path = ''
-- Generic plans from the first call. A custom plan knows each array's length (unnest's row
-- estimate), so it always looks cheaper than the generic one and the plan cache re-planned
-- every statement on every call: ingest() of one event ran at 0.67 to 0.8 of the JSON form it
-- replaced (pgbench, same hour). Every statement reads the arrays once and the tables by key.
set plan_cache_mode = force_generic_plan
-- Index reads only. Each delivery's foreign key is checked by a query PostgreSQL plans once per
-- session, in the settings of the statement that first runs it: planned here while the
-- endpoints fitted a page, it read them sequentially (to the delivery's endpoint) on every
-- insert once a platform had thousands. (Its callers, receive_many and ingest_many, set the
-- same for their own reads; set here, the check's plan does not depend on the caller.)
set enable_seqscan = off
set enable_bitmapscan = off
-- No JIT: a scan the settings above disable costs 10^10, past jit_above_cost.
set jit = off
as $$
#variable_conflict use_column
declare
  v_bad record;
  v_ids bigint[];
  v_sources bigint[];
  v_keys text[];
  v_delivered boolean;
begin
  -- The events of one request or of a group of requests (hookline.receive_many): element i of
  -- every array is event i. Arrays, not a JSON document: each statement below reads them as
  -- they are, with no parsing or copying of the payloads.
  select i.n, i.external_id, i.event_type, i.payload into v_bad
  from rows from (pg_catalog.unnest(_ingest.external_ids), pg_catalog.unnest(_ingest.event_types), pg_catalog.unnest(_ingest.payloads))
    with ordinality as i (external_id, event_type, payload, n)
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
  -- A key twice in the input: the first occurrence counts (keys are inserted in key and then
  -- input order, and the second finds the first's key). Event ids follow the input order;
  -- keys are inserted in key order, so two groups sharing keys wait for each other in one
  -- order and never deadlock.
  -- An id longer than a key can hold is keyed by its digest (hookline._id_key): the event and
  -- its key hold the same text.
  with numbered as materialized (
    select i.*, hookline._id_key(i.external_id) as key, nextval('hookline.events_event_id_seq') as new_id
    from (
      select *
      from rows from (pg_catalog.unnest(_ingest.source_ids), pg_catalog.unnest(_ingest.tenant_ids), pg_catalog.unnest(_ingest.request_ids),
                      pg_catalog.unnest(_ingest.traceparents), pg_catalog.unnest(_ingest.external_ids), pg_catalog.unnest(_ingest.event_types),
                      pg_catalog.unnest(_ingest.payloads), pg_catalog.unnest(_ingest.occurred_ats), pg_catalog.unnest(_ingest.phone_number_ids),
                      pg_catalog.unnest(_ingest.user_ids), pg_catalog.unnest(_ingest.wa_ids), pg_catalog.unnest(_ingest.sanitized))
        with ordinality as i (source_id, tenant_id, request_id, traceparent, external_id, event_type, payload, occurred_at, phone_number_id, user_id, wa_id, sanitized, n)
      order by i.n
    ) i
  ),
  keys as (
    insert into hookline.event_keys as k (source_id, external_id, event_id, received_at)
    select i.source_id, i.key, i.new_id, _ingest.received_at
    from numbered i
    order by i.source_id, i.key, i.n
    on conflict do nothing
    returning k.event_id
  ),
  stored as (
    insert into hookline.events as e (
      event_id, received_at, source_id, tenant_id, external_id, event_type, occurred_at, payload,
      phone_number_id, user_id, wa_id, request_id, sanitized, traceparent
    )
    select k.event_id, _ingest.received_at, i.source_id, i.tenant_id, i.key, i.event_type,
      i.occurred_at, i.payload, i.phone_number_id, i.user_id, i.wa_id, i.request_id,
      -- The JSON Pointers of the strings sanitised in this payload (none: null).
      case when i.sanitized is not null then (select pg_catalog.array_agg(p.pointer) from pg_catalog.jsonb_array_elements_text(i.sanitized) as p (pointer)) end,
      -- A malformed traceparent is dropped, never refused: the event matters, the trace less.
      case when i.traceparent ~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' then i.traceparent end
    from keys k join numbered i on i.new_id = k.event_id
    returning e.event_id, e.event_type, e.tenant_id, e.source_id, e.external_id
  ),
  -- One delivery per new event and endpoint, however many of its subscriptions match. Paused
  -- endpoints get theirs (they wait); disabled endpoints get none. Due at once.
  -- The endpoints are read FOR KEY SHARE, the lock the deliveries' foreign-key check takes
  -- anyway: an endpoint that remove_endpoint is deleting is waited for and then left out (a
  -- plain read saw it, and the check failed with 23503 once the removal committed: the whole
  -- request was refused). Other endpoint locks (claim, pause, set_endpoint) do not conflict.
  -- Each matching subscription's endpoint by a probe of its key (the LIMIT keeps the lateral a
  -- probe: joined, a plan made while the endpoints' statistics said one row hashed every
  -- endpoint, 3,033 rows a request beside 3,000 paused ones).
  delivered as (
    insert into hookline.deliveries (endpoint_id, event_id, event_received_at, next_attempt_at, created_at, tenant_id)
    select distinct m.endpoint_id, m.event_id, _ingest.received_at, _ingest.received_at, _ingest.received_at, m.tenant_id
    from (
      select e.endpoint_id, st.event_id, e.tenant_id
      from stored st
      join hookline.subscriptions s on s.tenant_id = st.tenant_id
        and (s.source_id is null or s.source_id = st.source_id)
        and st.event_type ~ s.event_type_regex
      cross join lateral (
        select e.endpoint_id, e.tenant_id
        from hookline.endpoints e
        where e.endpoint_id = s.endpoint_id and e.state <> 'disabled'
        limit 1
        for key share
      ) e
    ) m
    returning 1
  )
  select pg_catalog.array_agg(s.event_id order by s.event_id), pg_catalog.array_agg(s.source_id order by s.event_id),
    pg_catalog.array_agg(s.external_id order by s.event_id), exists (select from delivered)
  into v_ids, v_sources, v_keys, v_delivered
  from stored s;

  -- New deliveries are due now: wake a waiting runner (once per group).
  if v_delivered then
    perform hookline._wake('hookline_deliveries');
  end if;

  -- Every event new (nearly always): event i is the i-th new one (ids follow the input order).
  if pg_catalog.cardinality(v_ids) = pg_catalog.cardinality(_ingest.external_ids) then
    return query select i.n, i.id, true from pg_catalog.unnest(v_ids) with ordinality as i (id, n);
    return;
  end if;

  -- A new statement, so a key committed by a concurrent duplicate is visible. A duplicate's
  -- event is looked up by its key (an index probe per duplicate, whatever the plan).
  return query
  select i.n, coalesce(nw.id, (select k.event_id from hookline.event_keys k
                               where k.source_id = i.source_id and k.external_id = x.key)),
    nw.id is not null and i.n = pg_catalog.min(i.n) over (partition by i.source_id, x.key)
  from rows from (pg_catalog.unnest(_ingest.source_ids), pg_catalog.unnest(_ingest.external_ids)) with ordinality as i (source_id, external_id, n)
  cross join lateral (select hookline._id_key(i.external_id)) as x (key)
  left join rows from (pg_catalog.unnest(v_ids), pg_catalog.unnest(v_sources), pg_catalog.unnest(v_keys)) as nw (id, source_id, external_id)
    on nw.source_id = i.source_id and nw.external_id = x.key
  order by i.n;
end
$$;

comment on function hookline._ingest(timestamptz, bigint[], text[], bigint[], text[], text[], text[], jsonb[], timestamptz[], text[], text[], text[], jsonb[]) is
  'Private, the one place events are stored: the events of one request or of a group of requests, received at received_at; element i of every array is event i (its source, tenant, raw request, W3C traceparent (dropped when malformed), external_id, event_type, payload, occurred_at, phone_number_id, user_id, wa_id, and sanitized: null or a JSON array of the JSON Pointers of the strings sanitised in its payload). Set-based: keys first (hookline.event_keys, in key order; an existing key is a duplicate; an external_id over 2,048 bytes is keyed, and stored, as its digest: hookline._id_key), then the new events and their deliveries (one per event and endpoint with a matching subscription: event type pattern and optional source; disabled endpoints get none), in one statement, then a wake-up of the runners when deliveries were created (hookline._wake). Returns (ord, event_id, is_new) per event, in input order (ord from 1). Errors: HL002 an empty external_id, a null payload or a malformed event type (nothing is stored).';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._ingest(timestamptz, bigint[], text[], bigint[], text[], text[], text[], jsonb[], timestamptz[], text[], text[], text[], jsonb[]) from public;
