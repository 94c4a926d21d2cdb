-- It replaces hookline._type_word(text): the word is computed here, inline (a SQL
-- function with a SET clause is never inlined: it was parsed and planned on every split)
-- (hookline db deploy drops a function whose file is gone; psql -f functions/index.sql does not).
drop function if exists hookline._type_word(text);

create or replace function hookline._whatsapp_split(bodies jsonb[], sanitized jsonb[] default null)
returns table (
  req integer,
  external_id text,
  event_type text,
  occurred_at timestamptz,
  phone_number_id text,
  user_id text,
  wa_id text,
  payload jsonb,
  sanitized_fields text[]
)
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_one_item bigint;
begin
  -- The bodies of the common shape (hookline._whatsapp_one_item: one message or one status),
  -- most of them, by a statement of a few plan nodes: what costs a group of a few requests is
  -- setting up each plan node (executor start-up), not the rows. The same rules as the
  -- general statement below, which the tests hold it to on every shape they know.
  return query
  select b.req::integer,
    hookline._id_key(x.external_id, 512),
    case when x.is_message then 'whatsapp.message.' || t.word
         else hookline._whatsapp_status_type(x.item, x.change->>'field', t.word) end,
    coalesce(
      case when x.item->>'timestamp' ~ '^[0-9]{1,12}$' then pg_catalog.to_timestamp((x.item->>'timestamp')::bigint) end,
      case when x.entry->>'time' ~ '^[0-9]{1,12}$' then pg_catalog.to_timestamp((x.entry->>'time')::bigint) end),
    x.value->'metadata'->>'phone_number_id',
    coalesce(case when x.is_message then x.item->>'from_user_id'
                  else coalesce(x.item->>'recipient_participant_user_id', x.item->>'recipient_user_id') end,
             x.value->'contacts'->0->>'user_id'),
    coalesce(case when x.is_message then x.item->>'from'
                  when x.item ? 'recipient_participant_id' then x.item->>'recipient_participant_id'
                  when x.item->>'recipient_type' = 'group' then null
                  else x.item->>'recipient_id' end,
             x.value->'contacts'->0->>'wa_id'),
    pg_catalog.jsonb_build_object('object', 'whatsapp_business_account'::text, 'entry', b.body->'entry'),
    null::text[]
  from pg_catalog.unnest(_whatsapp_split.bodies) with ordinality as b (body, req)
  cross join lateral (
    select y.*,
      case when y.is_message then y.item->>'id' else hookline._whatsapp_status_key(y.item, y.change->>'field') end as external_id
    from (
      select b.body#>'{entry,0}' as entry, b.body#>'{entry,0,changes,0}' as change, b.body#>'{entry,0,changes,0,value}' as value,
        coalesce(b.body#>'{entry,0,changes,0,value,messages,0}', b.body#>'{entry,0,changes,0,value,statuses,0}') as item,
        b.body#>'{entry,0,changes,0,value}' ? 'messages' as is_message
      offset 0
    ) y
    -- Not pulled up (offset 0), so x.external_id is a column above: hookline._id_key, which
    -- reads its argument three times, is not inlined around an expression this costly (it
    -- ran as a call of its own, planned for every request).
    offset 0
  ) x
  cross join lateral (
    select case when tw.raw ~ '^[a-z0-9_]{1,40}$' then tw.raw else 'unknown' end
    from (select pg_catalog.lower(case when x.is_message then x.item->>'type' else x.item->>'status' end)) as tw (raw)
  ) as t (word)
  where hookline._whatsapp_one_item(b.body, _whatsapp_split.sanitized[b.req]);
  get diagnostics v_one_item = row_count;
  if v_one_item = coalesce(pg_catalog.cardinality(_whatsapp_split.bodies), 0) then
    return;
  end if;

  -- Every other body: one set-based statement for all of them, linear in their size: every body,
  -- entry, change, item and contact is expanded once (one executor run for the group, not one
  -- per body; every row carries its body's position, req); an item finds its contact by hash
  -- join, never by scanning the array again.
  -- Pure jsonb work: its generic plan is as good as any, and hookline.receive_many (the hot
  -- path) runs it with plan_cache_mode = force_generic_plan, which re-planning it on every
  -- call (a custom plan) cost several times the split itself. Not set here: a SET clause
  -- costs every call, and receive_many calls this once per group.
  return query
  with bodies as (
    select b.req::integer as req, b.body
    from pg_catalog.unnest(_whatsapp_split.bodies) with ordinality as b (body, req)
    where pg_catalog.jsonb_typeof(b.body) = 'object' and b.body->>'object' = 'whatsapp_business_account'
      and not hookline._whatsapp_one_item(b.body, _whatsapp_split.sanitized[b.req])
  ),
  entries as (
    select bo.req, en.entry, (en.n - 1)::integer as ei, en.entry - 'changes' as entry_base,
      case when en.entry->>'time' ~ '^[0-9]{1,12}$' then pg_catalog.to_timestamp((en.entry->>'time')::bigint) end as entry_time
    from bodies bo
    cross join lateral pg_catalog.jsonb_array_elements(
      case when pg_catalog.jsonb_typeof(bo.body->'entry') = 'array' then bo.body->'entry' else '[]'::jsonb end
    ) with ordinality as en (entry, n)
    where pg_catalog.jsonb_typeof(en.entry) = 'object'
  ),
  changes_raw as (
    select e.req, e.ei, (c.n - 1)::integer as ci, e.entry_base, e.entry_time, nullif(c.change, 'null'::jsonb) as change, v.value,
      v.value->'metadata'->>'phone_number_id' as phone_number_id,
      -- The kinds of item this change is split into. Value-level errors next to calls[] belong
      -- to the call (a call_terminate that failed) and stay in its payload. A history change
      -- (the WhatsApp Business app's past chats, synchronised once) is never split, even when
      -- Meta lists messages in its value (the media of past messages): they are not live
      -- traffic, and a handler of whatsapp.message.* must not answer them.
      case when c.change->>'field' = 'history' then '{}'::text[]
           else pg_catalog.array_remove(array['messages', 'message_echoes', 'statuses', 'calls', 'user_preferences',
             'user_actions', case when pg_catalog.jsonb_typeof(v.value->'calls') is distinct from 'array' then 'errors' end], null) end as kinds,
      pg_catalog.jsonb_typeof(v.value->'contacts') = 'array' and pg_catalog.jsonb_array_length(v.value->'contacts') = 1 as one_contact,
      -- A change's digest is computed once, then combined with an item's position: items
      -- without an id of their own never collapse two distinct occurrences, and a retry of the
      -- same notification (same entry, time and change) still finds its keys.
      pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
        pg_catalog.jsonb_build_array(e.entry_base, c.change)::text, 'UTF8')), 'hex') as digest
    from entries e
    cross join lateral pg_catalog.jsonb_array_elements(
      case when pg_catalog.jsonb_typeof(e.entry->'changes') = 'array' then e.entry->'changes' else '[null]'::jsonb end
    ) with ordinality as c (change, n)
    cross join lateral (
      select case when pg_catalog.jsonb_typeof(c.change->'value') = 'object' then c.change->'value' end
    ) as v (value)
  ),
  changes as (
    -- What every item of a change shares (metadata, messaging_product): computed once.
    select cr.*, cr.value - cr.kinds - 'contacts' as value_base, case when pg_catalog.jsonb_typeof(cr.change) = 'object' then cr.change - 'value' end as change_base,
      cr.change->>'field' as field
    from changes_raw cr
  ),
  items as (
    -- Small columns only: a materialised row never copies the whole change.
    select ch.req, ch.ei, ch.ci, k.kind, (i.n - 1)::integer as ii, i.item, ch.entry_base, ch.entry_time, ch.change_base, ch.field,
      ch.phone_number_id, ch.digest,
      ch.value_base, ch.kinds, k.kind_count,
      -- Who the item is about: the scoped user id and the WhatsApp id of the other party.
      case k.kind
        when 'messages' then i.item->>'from_user_id'
        when 'message_echoes' then i.item->>'to_user_id'
        when 'statuses' then coalesce(i.item->>'recipient_participant_user_id', i.item->>'recipient_user_id')
        when 'calls' then case when i.item->>'direction' = 'BUSINESS_INITIATED'
                               then i.item->>'to_user_id' else i.item->>'from_user_id' end
        when 'user_preferences' then i.item->>'user_id'
      end as item_user_id,
      case k.kind
        when 'messages' then i.item->>'from'
        when 'message_echoes' then i.item->>'to'
        -- A group status names the group in recipient_id and the reader in recipient_participant_id.
        when 'statuses' then case when i.item ? 'recipient_participant_id' then i.item->>'recipient_participant_id'
                                  when i.item->>'recipient_type' = 'group' then null
                                  else i.item->>'recipient_id' end
        when 'calls' then case when i.item->>'direction' = 'BUSINESS_INITIATED'
                               then i.item->>'to' else i.item->>'from' end
        when 'user_preferences' then i.item->>'wa_id'
      end as item_wa_id
    from changes ch
    cross join lateral (
      select u.kind, b.arr, pg_catalog.jsonb_array_length(b.arr)
      from pg_catalog.unnest(ch.kinds) as u (kind)
      cross join lateral (select ch.value->u.kind) as a (arr0)
      cross join lateral (select case when pg_catalog.jsonb_typeof(a.arr0) = 'array' then a.arr0 else '[]'::jsonb end) as b (arr)
    ) as k (kind, arr, kind_count)
    cross join lateral pg_catalog.jsonb_array_elements(k.arr) with ordinality as i (item, n)
    where pg_catalog.jsonb_typeof(i.item) = 'object'
  ),
  contacts as (
    select ch.req, ch.ei, ch.ci, (c.n - 1)::integer as cn, c.contact
    from changes ch
    cross join lateral pg_catalog.jsonb_array_elements(
      case when pg_catalog.jsonb_typeof(ch.value->'contacts') = 'array' then ch.value->'contacts' else '[]'::jsonb end
    ) with ordinality as c (contact, n)
    where pg_catalog.jsonb_typeof(c.contact) = 'object'
  ),
  by_user as (
    select distinct on (ct.req, ct.ei, ct.ci, ct.contact->>'user_id') ct.req, ct.ei, ct.ci, ct.cn, ct.contact, ct.contact->>'user_id' as id
    from contacts ct where ct.contact->>'user_id' is not null
    order by ct.req, ct.ei, ct.ci, ct.contact->>'user_id', ct.cn
  ),
  by_wa as (
    select distinct on (ct.req, ct.ei, ct.ci, ct.contact->>'wa_id') ct.req, ct.ei, ct.ci, ct.cn, ct.contact, ct.contact->>'wa_id' as id
    from contacts ct where ct.contact->>'wa_id' is not null
    order by ct.req, ct.ei, ct.ci, ct.contact->>'wa_id', ct.cn
  ),
  only_contact as (
    select ct.* from contacts ct join changes ch on ch.req = ct.req and ch.ei = ct.ei and ch.ci = ct.ci where ch.one_contact
  ),
  matched as (
    select it.*, m.cn, m.contact
    from items it
    left join by_user cu on cu.req = it.req and cu.ei = it.ei and cu.ci = it.ci and cu.id = it.item_user_id
    left join by_wa cw on cw.req = it.req and cw.ei = it.ei and cw.ci = it.ci and cw.id = it.item_wa_id
    -- No match by id: the change's only contact belongs to its only item (Meta may write a
    -- number differently in from and in wa_id); otherwise an item gets no contact at all.
    left join only_contact co on co.req = it.req and co.ei = it.ei and co.ci = it.ci and it.kind_count = 1
      and it.kind <> 'errors' and cu.cn is null and cw.cn is null
    cross join lateral (
      select coalesce(cu.cn, cw.cn, co.cn), coalesce(cu.contact, cw.contact, co.contact)
    ) as m (cn, contact)
  ),
  item_events as (
    select m.req, m.ei, m.ci, m.kind, m.ii,
      case
        when coalesce(m.item->>'id', '') = '' or m.kind in ('errors', 'user_preferences', 'user_actions') then
          'sha256:' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
            m.digest || ':' || m.kind || ':' || m.ii, 'UTF8')), 'hex')
        when m.kind = 'calls' then 'call:' || (m.item->>'id') || ':' || pg_catalog.lower(coalesce(m.item->>'event', ''))
        when m.kind = 'statuses' then hookline._whatsapp_status_key(m.item, m.field)
        else m.item->>'id'
      end as external_id,
      case
        when m.kind = 'messages' then 'whatsapp.message.' || t.word
        when m.kind = 'message_echoes' then 'whatsapp.echo.' || t.word
        when m.kind = 'statuses' then hookline._whatsapp_status_type(m.item, m.field, t.word)
        when m.kind = 'calls' then 'whatsapp.call.' || t.word
        when m.kind = 'user_preferences' then 'whatsapp.user_preferences'
        -- What a user did with a marketing message (field messages, value.user_actions[]: a
        -- click on its link), typed by its action_type.
        when m.kind = 'user_actions' then 'whatsapp.user_action.' || t.word
        else 'whatsapp.error'
      end as event_type,
      coalesce(
        case when m.item->>'timestamp' ~ '^[0-9]{1,12}$' then pg_catalog.to_timestamp((m.item->>'timestamp')::bigint) end,
        m.entry_time
      ) as occurred_at,
      m.phone_number_id,
      case when m.kind <> 'errors' then coalesce(m.item_user_id, m.contact->>'user_id') end as user_id,
      case when m.kind <> 'errors' then coalesce(m.item_wa_id, m.contact->>'wa_id') end as wa_id,
      -- The original notification narrowed to this one item, its metadata and its contact.
      pg_catalog.jsonb_build_object(
        'object', 'whatsapp_business_account'::text,
        'entry', pg_catalog.jsonb_build_array(m.entry_base || pg_catalog.jsonb_build_object(
          'changes', pg_catalog.jsonb_build_array(m.change_base || pg_catalog.jsonb_build_object(
            'value', m.value_base
              || case when m.contact is null then '{}'::jsonb
                      else pg_catalog.jsonb_build_object('contacts', pg_catalog.jsonb_build_array(m.contact)) end
              || pg_catalog.jsonb_build_object(m.kind, pg_catalog.jsonb_build_array(m.item))
          ))
        ))
      ) as payload,
      m.cn, m.kinds
    from matched m
    -- The word Meta sends (a message type, status, call event) as the last part of the event
    -- type: lower-cased, or unknown when missing or not a plain word (letters, digits,
    -- underscore, at most 40).
    cross join lateral (
      select pg_catalog.lower(case m.kind when 'messages' then m.item->>'type' when 'message_echoes' then m.item->>'type'
                                          when 'statuses' then m.item->>'status' when 'calls' then m.item->>'event'
                                          when 'user_actions' then m.item->>'action_type' end)
    ) as tw (raw)
    cross join lateral (select case when tw.raw ~ '^[a-z0-9_]{1,40}$' then tw.raw else 'unknown' end) as t (word)
  ),
  -- A change with no item (account_update, template and quality updates, history, a field
  -- Meta adds) is one event, typed by its field.
  change_events as (
    select ch.req, ch.ei, ch.ci, null::text as kind, null::integer as ii,
      'sha256:' || ch.digest as external_id,
      case when ch.change->>'field' ~ '^[a-z0-9_]{1,60}$' then 'whatsapp.change.' || (ch.change->>'field')
           else 'whatsapp.unknown' end as event_type,
      coalesce(
        case when ch.value->>'timestamp' ~ '^[0-9]{1,12}$' then pg_catalog.to_timestamp((ch.value->>'timestamp')::bigint) end,
        ch.entry_time
      ) as occurred_at,
      ch.phone_number_id,
      null::text as user_id,
      null::text as wa_id,
      pg_catalog.jsonb_build_object(
        'object', 'whatsapp_business_account'::text,
        'entry', pg_catalog.jsonb_build_array(ch.entry_base || case when ch.change is null then '{}'::jsonb
          else pg_catalog.jsonb_build_object('changes', pg_catalog.jsonb_build_array(ch.change)) end)
      ) as payload,
      null::integer as cn, null::text[] as kinds
    from changes ch
    where not exists (select from items it where it.req = ch.req and it.ei = ch.ei and it.ci = ch.ci)
  ),
  -- The strings a body had to have sanitised (characters jsonb cannot hold; rare): each JSON
  -- Pointer once, with the part of its body that holds it (an entry, a change, an item or
  -- contact of a change) and rebased once onto the payloads that hold it. Events find theirs by
  -- equality, so the work is linear in pointers and events; trying every pointer of a body
  -- against each of its events was quadratic (a batch of 1000 messages with a character
  -- replaced in each took more than the ingress's statement timeout, so every retry of Meta
  -- failed alike).
  pointers as (
    select x.req, x.ei, x.ci, x.arr, x.ai,
      case when x.ci is null then 'entry'
           when x.arr = 'contacts' or x.arr = any(ch.kinds) then 'item'
           else 'change' end as level,
      hookline._whatsapp_pointer(x.ptr, false) as whole,
      case when x.arr = 'contacts' or x.arr = any(ch.kinds) then hookline._whatsapp_pointer(x.ptr, true) end as narrowed
    from (
      select s.req::integer as req, t.ptr,
        case when t.a[3] ~ '^(0|[1-9][0-9]{0,8})$' then t.a[3]::integer end as ei,
        case when t.a[4] = 'changes' and t.a[5] ~ '^(0|[1-9][0-9]{0,8})$' then t.a[5]::integer end as ci,
        case when t.a[4] = 'changes' and t.a[6] = 'value' then t.a[7] end as arr,
        case when t.a[8] ~ '^(0|[1-9][0-9]{0,8})$' then t.a[8]::integer end as ai,
        t.a[4] is distinct from 'changes' as in_entry
      from pg_catalog.unnest(_whatsapp_split.sanitized) with ordinality as s (list, req)
      cross join lateral pg_catalog.jsonb_array_elements_text(
        case when pg_catalog.jsonb_typeof(s.list) = 'array' then s.list else '[]'::jsonb end) as e (ptr)
      cross join lateral (select e.ptr, pg_catalog.string_to_array(e.ptr, '/')) as t (ptr, a)
      where t.a[2] = 'entry'
    ) x
    left join changes ch on ch.req = x.req and ch.ei = x.ei and ch.ci = x.ci
    where x.ei is not null and (x.in_entry or x.ci is not null)
  ),
  -- Every event of an entry holds its entry's pointers; of a change, the change's pointers
  -- outside its items and contacts (a change kept whole: all of them); an item's event, those
  -- of its item and of its contact.
  entry_pointers as (
    select p.req, p.ei, pg_catalog.array_agg(p.whole) as ps from pointers p where p.level = 'entry' group by p.req, p.ei
  ),
  change_pointers as (
    select p.req, p.ei, p.ci, pg_catalog.array_agg(p.whole) filter (where p.level = 'change') as outside,
      pg_catalog.array_agg(p.whole) as whole
    from pointers p where p.level <> 'entry' group by p.req, p.ei, p.ci
  ),
  item_pointers as (
    select p.req, p.ei, p.ci, p.arr, p.ai, pg_catalog.array_agg(p.narrowed) as ps
    from pointers p where p.level = 'item' and p.ai is not null group by p.req, p.ei, p.ci, p.arr, p.ai
  )
  -- A key longer than a btree entry can hold (Meta's ids are far shorter) is kept as its digest
  -- rather than failing the whole request.
  select ev.req, hookline._id_key(ev.external_id, 512),
    ev.event_type, ev.occurred_at, ev.phone_number_id, ev.user_id, ev.wa_id, ev.payload,
    -- Which strings of this payload were sanitised (JSON Pointers into the payload).
    (select pg_catalog.array_agg(q.p order by q.p)
     from pg_catalog.unnest(pe.ps || case when ev.kind is null then pc.whole else pc.outside end || pi.ps || pk.ps) as q (p))
  from (select * from item_events union all select * from change_events) ev
  left join entry_pointers pe on pe.req = ev.req and pe.ei = ev.ei
  left join change_pointers pc on pc.req = ev.req and pc.ei = ev.ei and pc.ci = ev.ci
  left join item_pointers pi on pi.req = ev.req and pi.ei = ev.ei and pi.ci = ev.ci and pi.arr = ev.kind and pi.ai = ev.ii
  left join item_pointers pk on pk.req = ev.req and pk.ei = ev.ei and pk.ci = ev.ci and pk.arr = 'contacts' and pk.ai = ev.cn
  order by ev.req, ev.ei, ev.ci, ev.kind is null, pg_catalog.array_position(ev.kinds, ev.kind), ev.ii;
end
$$;

comment on function hookline._whatsapp_split(jsonb[], jsonb[]) is
  'Private, the one place a WhatsApp notification is split (hookline.whatsapp_events for one body, hookline.receive_many for a group): the events of every body of bodies, each row with req, the position of its body (from 1); the bodies of the common shape (hookline._whatsapp_one_item) come first, split by a small statement, then the others by the general one, each body''s events in the order hookline.whatsapp_events documents (callers order by req, then by the row''s position). sanitized: element i is a JSON array of the JSON Pointers of strings replaced in body i, or null. Bodies that are not WhatsApp Business Account notifications (object) yield nothing: the callers check them first. Pure: stores nothing. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._whatsapp_split(jsonb[], jsonb[]) from public;
