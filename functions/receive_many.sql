create or replace function hookline.receive_many(
  sources text[],
  bodies text[],
  raws bytea[],
  headers jsonb[],
  sanitized jsonb[] default null,
  received_at timestamptz default pg_catalog.now()
)
returns table (ord integer, request_id bigint, event_count integer, new_event_count integer, error_code text, error_message text)
language plpgsql
security definer
set search_path = ''
-- Every statement here reads arrays and small tables (sources, subscriptions, endpoints) or
-- probes an index by equality: one plan fits every call, and re-planning each call (custom
-- plans) cost more than the work. The status groups read the outbox and the event keys by key:
-- a generic plan made while the outbox was small (or its statistics said so) read it whole
-- once it had grown (12 ms a group at 20,000 rows; test_plan_cache's receive_many_statuses),
-- so no sequential or bitmap scan, and no JIT (as in complete_messages).
set plan_cache_mode = force_generic_plan
set enable_seqscan = off
set enable_bitmapscan = off
set jit = off
as $$
#variable_conflict use_column
declare
  v_codes text[];        -- per request, in input order: its error (SQLSTATE), null when stored
  v_messages text[];
  v_stored integer;      -- how many requests are stored
  v_requests bigint[];   -- per request, in input order: its raw request id (null when not
  v_sources bigint[];    -- stored), source and tenant
  v_tenants text[];
  v_wa_ords integer[];   -- per whatsapp request (stored): its position in the input, body, sanitized
  v_wa_bodies jsonb[];
  v_wa_sanitized jsonb[];
  v_sw_ords integer[];   -- per standard-webhooks request (stored): its position in the input and body
  v_sw_bodies jsonb[];
  -- The group's events, one array per column, element i is event i (in input and body order).
  e_reqs integer[];      -- its request's position in the input
  e_sources bigint[];
  e_tenants text[];
  e_requests bigint[];
  e_traces text[];
  e_keys text[];
  e_types text[];
  e_payloads jsonb[];
  e_occurred timestamptz[];
  e_phones text[];
  e_users text[];
  e_was text[];
  e_sanitized jsonb[];
  v_new boolean[];       -- per event: is it new?
  v_statuses boolean;    -- is any event a message status?
  v_parsed jsonb[];      -- every body parsed at once, or null when one of them cannot be
  v_status_messages bigint[];  -- per status of a message hookline sent, in event order: its
  v_status_items jsonb[];      -- message and the status item,
  v_status_sources bigint[];   -- its event's source and key
  v_status_keys text[];
  v_status_classes text[];     -- and, in a group with a failed status, a failed one's error class
  v_pair_answered bigint[];   -- the messages of the group's failed statuses 131056 (pair limit)
  v_pair_messages bigint[];   -- the group's messages and, for a failed status 131056, its recipient's queued ones
  v_failed_phones text[];      -- the numbers of the messages of failed statuses, sorted
  v_event_ids bigint[];        -- the ids of the group's new events
begin
  if receive_many.received_at is null
     or coalesce(pg_catalog.cardinality(receive_many.bodies), 0) <> coalesce(pg_catalog.cardinality(receive_many.sources), 0)
     or coalesce(pg_catalog.cardinality(receive_many.raws), 0) <> coalesce(pg_catalog.cardinality(receive_many.sources), 0)
     or coalesce(pg_catalog.cardinality(receive_many.headers), 0) <> coalesce(pg_catalog.cardinality(receive_many.sources), 0)
     or (receive_many.sanitized is not null and pg_catalog.cardinality(receive_many.sanitized) <> pg_catalog.cardinality(receive_many.sources)) then
    raise exception using errcode = 'HL002',
      message = 'received_at must not be null; sources, bodies, raws, headers (and sanitized) must have one element per request';
  end if;

  -- Every body parsed at once, in one subtransaction for the group; when one cannot be read
  -- (rare: the sender signed it), each is parsed on its own below (hookline._parse_body).
  begin
    select pg_catalog.array_agg(b.body::jsonb order by b.n) into v_parsed
    from pg_catalog.unnest(receive_many.bodies) with ordinality as b (body, n);
  exception when data_exception or program_limit_exceeded then
    v_parsed := null;
  end;

  -- 1. Every request is checked on its own, set-based: a bad one gets its error (the one
  -- hookline.receive raises) and the others of the group are stored all the same.
  with input as (
    select r.ord::integer as ord, r.source, r.raw, r.headers, s.source_id, s.tenant_id, s.kind,
      coalesce(v_parsed[r.ord], p.value) as body, p.error_code as parse_code, p.error_message as parse_message
    from rows from (pg_catalog.unnest(receive_many.sources), pg_catalog.unnest(receive_many.bodies),
                    pg_catalog.unnest(receive_many.raws), pg_catalog.unnest(receive_many.headers))
      with ordinality as r (source, body, raw, headers, ord)
    -- Each request's source by a probe of its name: joined, a plan made while the sources were
    -- few read sources_name_key from its start in a merge join, every source whose name sorts
    -- before the group's (a platform's thousands).
    left join lateral (
      select s.source_id, s.tenant_id, s.kind from hookline.sources s where s.name = r.source limit 1
    ) s on true
    left join lateral hookline._parse_body(case when v_parsed is null and s.source_id is not null then r.body end) p on true
  ),
  checked as (
    select i.*,
      case
        when i.source_id is null then 'HL001'
        when i.raw is null or pg_catalog.jsonb_typeof(coalesce(i.headers, 'null')) <> 'object' then 'HL002'
        when i.parse_code is not null then i.parse_code
        when i.kind = 'standard-webhooks' and i.headers->>'webhook-id' is null then 'HL041'
        when i.kind = 'whatsapp' and (pg_catalog.jsonb_typeof(i.body) is distinct from 'object'
                                      or i.body->>'object' is distinct from 'whatsapp_business_account'
                                      or pg_catalog.jsonb_typeof(i.body->'entry') is distinct from 'array') then 'HL040'
        when i.kind = 'standard-webhooks' and (i.headers->>'webhook-id' = '' or coalesce(pg_catalog.jsonb_typeof(i.body), 'null') = 'null') then 'HL002'
      end as code,
      case
        when i.source_id is null then format('unknown source %L', i.source)
        when i.raw is null or pg_catalog.jsonb_typeof(coalesce(i.headers, 'null')) <> 'object' then 'raw and received_at must not be null, headers must be an object'
        when i.parse_code is not null then i.parse_message
        when i.kind = 'standard-webhooks' and i.headers->>'webhook-id' is null then 'a Standard Webhooks request needs a webhook-id header'
        when i.kind = 'whatsapp' and (pg_catalog.jsonb_typeof(i.body) is distinct from 'object'
                                      or i.body->>'object' is distinct from 'whatsapp_business_account') then 'not a WhatsApp Business Account notification: "object" must be "whatsapp_business_account"'
        when i.kind = 'whatsapp' and pg_catalog.jsonb_typeof(i.body->'entry') is distinct from 'array' then 'not a WhatsApp Business Account notification: "entry" must be an array'
        when i.kind = 'standard-webhooks' and i.headers->>'webhook-id' = '' then 'external_id must be a non-empty string'
        when i.kind = 'standard-webhooks' and coalesce(pg_catalog.jsonb_typeof(i.body), 'null') = 'null' then 'payload must not be null'
      end as message
    from input i
  ),
  numbered as materialized (
    select c.*, case when c.code is null then nextval('hookline.raw_requests_request_id_seq') end as request_id
    from (select * from checked order by ord) c
  )
  -- The rows of numbered come out in input order (it is materialised from a sorted subquery):
  -- the arrays are aggregated in that order (one sort, not one per array).
  select pg_catalog.array_agg(n.code), pg_catalog.array_agg(n.message), pg_catalog.count(*) filter (where n.code is null),
    pg_catalog.array_agg(n.request_id), pg_catalog.array_agg(n.source_id), pg_catalog.array_agg(n.tenant_id),
    pg_catalog.array_agg(n.ord) filter (where n.code is null and n.kind = 'whatsapp'),
    pg_catalog.array_agg(n.body) filter (where n.code is null and n.kind = 'whatsapp'),
    pg_catalog.array_agg(receive_many.sanitized[n.ord]) filter (where n.code is null and n.kind = 'whatsapp'),
    pg_catalog.array_agg(n.ord) filter (where n.code is null and n.kind = 'standard-webhooks'),
    pg_catalog.array_agg(n.body) filter (where n.code is null and n.kind = 'standard-webhooks')
  into v_codes, v_messages, v_stored, v_requests, v_sources, v_tenants, v_wa_ords, v_wa_bodies, v_wa_sanitized, v_sw_ords, v_sw_bodies
  from numbered n;

  if v_stored > 0 then
    -- 2. Every event of the stored requests, in input and body order; an item without a time
    -- of its own happened when it arrived. Only the whatsapp requests are split. One array per
    -- column, not a JSON document: the payloads are neither copied into one nor parsed back
    -- out of it. A request's source, tenant and raw request are read from the arrays by its
    -- position (no join). The rows are aggregated in the order of the sorted subquery (one
    -- sort, not one per array).
    select pg_catalog.array_agg(e.ord), pg_catalog.array_agg(v_sources[e.ord]), pg_catalog.array_agg(v_tenants[e.ord]),
      pg_catalog.array_agg(v_requests[e.ord]), pg_catalog.array_agg(receive_many.headers[e.ord]->>'traceparent'),
      pg_catalog.array_agg(e.external_id), pg_catalog.array_agg(e.event_type), pg_catalog.array_agg(e.payload),
      pg_catalog.array_agg(e.occurred_at), pg_catalog.array_agg(e.phone_number_id), pg_catalog.array_agg(e.user_id),
      pg_catalog.array_agg(e.wa_id), pg_catalog.array_agg(e.sanitized), pg_catalog.bool_or(e.event_type like 'whatsapp.status.%')
    into e_reqs, e_sources, e_tenants, e_requests, e_traces, e_keys, e_types, e_payloads, e_occurred,
      e_phones, e_users, e_was, e_sanitized, v_statuses
    from (
      -- Every whatsapp body of the group split by one call (hookline._whatsapp_split): one
      -- executor run for the group; w.req is the body's position among the whatsapp requests.
      select v_wa_ords[w.req] as ord, w.n, w.external_id, w.event_type, coalesce(w.occurred_at, receive_many.received_at) as occurred_at,
        w.phone_number_id, w.user_id, w.wa_id, w.payload, pg_catalog.to_jsonb(w.sanitized_fields) as sanitized
      from hookline._whatsapp_split(v_wa_bodies, v_wa_sanitized)
        with ordinality as w (req, external_id, event_type, occurred_at, phone_number_id, user_id, wa_id, payload, sanitized_fields, n)
      union all
      -- A Standard Webhooks request is one event, keyed by its webhook-id header.
      select s.ord, 1, receive_many.headers[s.ord]->>'webhook-id',
        case when s.body->>'type' ~ '^[a-z0-9_-]+(\.[a-z0-9_-]+)*$' then s.body->>'type' else 'unknown' end,
        receive_many.received_at, null, null, null, s.body, receive_many.sanitized[s.ord]
      from rows from (pg_catalog.unnest(v_sw_ords), pg_catalog.unnest(v_sw_bodies)) as s (ord, body)
      order by 1, 2
    ) e;

    -- 3. The events of the whole group at once (duplicates create nothing).
    select pg_catalog.array_agg(i.is_new order by i.ord), coalesce(pg_catalog.array_agg(i.event_id) filter (where i.is_new), '{}')
    into v_new, v_event_ids
    from hookline._ingest(receive_many.received_at, e_sources, e_tenants, e_requests, e_traces, e_keys, e_types,
                          e_payloads, e_occurred, e_phones, e_users, e_was, e_sanitized) i;

    -- A new status of a message hookline sent moves its outbox row (docs/outbound.md). Its
    -- message is one of the notification's tenant and number (another tenant's source, or
    -- another number, cannot touch it): by wamid, else by the outbox id hookline sent as
    -- biz_opaque_callback_data (the send's answer was lost). Found before any lock (a message's
    -- tenant and number never change), then locked in the outbox's lock order for the whole
    -- group: the senders and breakers a failed status may touch, then the messages, each
    -- sorted. Locked one status at a time, in the group's order, two groups (or a group and
    -- complete_messages) naming the same messages in other orders deadlocked.
    if v_statuses then
      select pg_catalog.array_agg(s.message_id order by s.n), pg_catalog.array_agg(s.status order by s.n),
        pg_catalog.array_agg(s.source_id order by s.n), pg_catalog.array_agg(s.external_id order by s.n),
        -- A message found is of the status's number: these are the numbers whose senders and
        -- breakers a failed status may touch (computed once, for both locks).
        pg_catalog.array_agg(distinct s.phone_number_id order by s.phone_number_id) filter (where s.status->>'status' = 'failed')
      into v_status_messages, v_status_items, v_status_sources, v_status_keys, v_failed_phones
      from (
        select e.n, e.status, e.source_id, e.external_id, e.phone_number_id,
          -- Each by its key alone (outbox_wamid_key, outbox_pkey: one row at most), its tenant
          -- and number checked after, in a subquery the conditions cannot enter (offset 0): with
          -- the number's condition beside the key, a generic plan made while the outbox was
          -- empty read outbox_pair_idx by number instead, every message the number ever sent
          -- for each status (40,000 buffers, 27 ms a status at 20,000 sent).
          coalesce(
            (select o.message_id
             from (select o.message_id, o.tenant_id, o.phone_number_id from hookline.outbox o
                   where o.wamid = hookline._id_key(e.status->>'id') offset 0) o
             where o.tenant_id = e.tenant_id and o.phone_number_id = e.phone_number_id),
            (select o.message_id
             from (select o.message_id, o.tenant_id, o.phone_number_id from hookline.outbox o
                   where o.message_id = case when e.status->>'biz_opaque_callback_data' ~ '^hookline:[0-9]{1,18}$'
                                             then pg_catalog.substr(e.status->>'biz_opaque_callback_data', 10)::bigint end
                   offset 0) o
             where o.tenant_id = e.tenant_id and o.phone_number_id = e.phone_number_id)
          ) as message_id
        from (
          select e.n, e.tenant_id, e.phone_number_id, e.source_id, e.external_id,
            e.payload #> '{entry,0,changes,0,value,statuses,0}' as status
          from rows from (pg_catalog.unnest(e_types), pg_catalog.unnest(e_tenants), pg_catalog.unnest(e_phones),
                          pg_catalog.unnest(e_payloads), pg_catalog.unnest(v_new), pg_catalog.unnest(e_sources),
                          pg_catalog.unnest(e_keys))
            with ordinality as e (event_type, tenant_id, phone_number_id, payload, is_new, source_id, external_id, n)
          where e.is_new and e.event_type like 'whatsapp.status.%'
        ) e
        offset 0 -- each status's lookups once (pulled up, they ran again for the filter below)
      ) s
      where s.message_id is not null;

      if v_status_messages is not null then
        -- Statuses other than failed move a message forward only: its lock is all they need.
        -- A failed one may touch its number's sender and breaker (locked first), and with a
        -- pair-limit code (131056) defers the recipient's other queued messages
        -- (hookline._message_outcomes; which ones: hookline._pair_messages): locked here with the
        -- group's, sorted, as in complete_messages (docs/outbound.md, "Lock order"), so none is
        -- skipped and overtakes it.
        v_pair_messages := v_status_messages;
        if v_failed_phones is not null then
          perform hookline._lock_senders(v_failed_phones);
          -- Each failed status's error class, read once: for the pair-limit lock here and for
          -- its outcome (hookline._apply_message_statuses).
          -- (Materialised: a subquery would be flattened and the class read for each use.)
          with classified as materialized (
            select x.message_id, x.n,
              case when x.status->>'status' = 'failed'
                   then hookline._graph_error_class(case when x.status#>>'{errors,0,code}' ~ '^[0-9]{1,9}$'
                                                         then (x.status#>>'{errors,0,code}')::integer end, false) end as class
            from rows from (pg_catalog.unnest(v_status_messages), pg_catalog.unnest(v_status_items))
              with ordinality as x (message_id, status, n)
          )
          select pg_catalog.array_agg(x.class order by x.n),
            coalesce(pg_catalog.array_agg(x.message_id order by x.n) filter (where x.class = 'recipient_throttle'), '{}')
          into v_status_classes, v_pair_answered
          from classified x;
          if v_pair_answered <> '{}' then
            v_pair_messages := v_status_messages
              || array(select p.message_id from hookline._pair_messages(v_pair_answered) as p(message_id));
          end if;
        end if;
        perform from hookline.outbox o where o.message_id = any (v_pair_messages) order by o.message_id for update;
        if v_failed_phones is not null then
          -- A failed status counts once for its tenant. Two apps (sources) subscribed to one
          -- WABA each get it: stored as an event of each source (the keys are per source), it
          -- counted an attempt and a breaker failure twice, and delayed the retry again. One
          -- counts: the first in the group, unless another source of the tenant stored the same
          -- status (its key: wamid, status) before this group (read after the locks above, so a
          -- concurrent group that applied it has committed).
          select pg_catalog.array_agg(x.message_id order by x.n), pg_catalog.array_agg(x.status order by x.n),
            pg_catalog.array_agg(x.class order by x.n)
          into v_status_messages, v_status_items, v_status_classes
          from (
            select x.*, pg_catalog.row_number() over (partition by x.message_id, x.external_id order by x.n) as nth
            from rows from (pg_catalog.unnest(v_status_messages), pg_catalog.unnest(v_status_items),
                            pg_catalog.unnest(v_status_sources), pg_catalog.unnest(v_status_keys),
                            pg_catalog.unnest(v_status_classes))
              with ordinality as x (message_id, status, source_id, external_id, class, n)
          ) x
          where x.status->>'status' is distinct from 'failed'
             or (x.nth = 1
                 -- Each other source's key probed by (source, key), a lateral with a LIMIT:
                 -- as a join, a plan made on drained tables read event_keys_pkey by the key
                 -- alone, its second column: every stored key, for each failed status.
                 and not exists (
                   select
                   from hookline.sources o
                   cross join lateral (
                     select from hookline.event_keys k
                     where k.source_id = o.source_id and k.external_id = x.external_id
                       and k.event_id <> all (v_event_ids)
                     limit 1
                   ) k
                   where o.tenant_id = (select m.tenant_id from hookline.outbox m where m.message_id = x.message_id)
                     and o.source_id <> x.source_id));
        end if;
        if v_status_messages is not null then
          perform hookline._apply_message_statuses(v_status_messages, v_status_items,
                                                   coalesce(v_status_classes, pg_catalog.array_fill(null::text, array[pg_catalog.cardinality(v_status_messages)])),
                                                   receive_many.received_at);
        end if;
      end if;
    end if;
  end if;

  -- 4. The raw requests, with how many events each yielded, and the answer, one row per
  -- request: one statement (a data-modifying CTE runs whether or not the query reads it; with
  -- nothing stored it inserts nothing).
  return query
  with counted as (
    select v.ord, v.request_id, v.source_id, v.tenant_id,
      coalesce(c.events, 0) as event_count, coalesce(c.new_events, 0) as new_event_count
    from rows from (pg_catalog.unnest(v_requests), pg_catalog.unnest(v_sources), pg_catalog.unnest(v_tenants))
      with ordinality as v (request_id, source_id, tenant_id, ord)
    left join (
      select e.req, pg_catalog.count(*)::integer as events, pg_catalog.count(*) filter (where e.is_new)::integer as new_events
      from rows from (pg_catalog.unnest(e_reqs), pg_catalog.unnest(v_new)) as e (req, is_new)
      group by e.req
    ) c on c.req = v.ord
    where v.request_id is not null
  ),
  stored as (
    insert into hookline.raw_requests (request_id, received_at, source_id, tenant_id, headers, body, event_count, new_event_count)
    select c.request_id, receive_many.received_at, c.source_id, c.tenant_id, receive_many.headers[c.ord],
      receive_many.raws[c.ord], c.event_count, c.new_event_count
    from counted c
  )
  select c.ord::integer, s.request_id, s.event_count, s.new_event_count, c.code, c.message
  from rows from (pg_catalog.unnest(v_codes), pg_catalog.unnest(v_messages)) with ordinality as c (code, message, ord)
  left join counted s on s.ord = c.ord
  order by c.ord;
end
$$;

comment on function hookline.receive_many(text[], text[], bytea[], jsonb[], jsonb[], timestamptz) is
  'Stores a group of verified webhook requests in one transaction (the ingress''s group commit): element i of sources, bodies (the request''s text, parsed here), raws (the bytes as received), headers (an object) and sanitized (null, or a JSON array of the pointers hookline.receive takes) is request i. Each request is checked on its own and stored as hookline.receive stores it: its raw request, its new events (all the group''s events through one hookline._ingest: a key twice in a group counts once, for the first request) and the outbox statuses they report. Returns one row per request, in input order: (ord from 1, request_id, event_count, new_event_count, error_code, error_message); a request that cannot be stored gets the SQLSTATE and message hookline.receive would raise (HL001, HL002, HL040, HL041, or 22xxx/54001 for a body jsonb cannot read) and null counts, and stores nothing, while the other requests are stored. Errors (the whole call): HL002 arrays of different lengths or a null received_at.';

-- SECURITY DEFINER: the ingress has no table privileges; it stores requests only through this function.
revoke all on function hookline.receive_many(text[], text[], bytea[], jsonb[], jsonb[], timestamp with time zone) from public;
grant execute on function hookline.receive_many(text[], text[], bytea[], jsonb[], jsonb[], timestamp with time zone) to hookline_ingest;
