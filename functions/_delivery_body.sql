-- It takes the event's row since claim reads that row once for everything it returns.
drop function if exists hookline._delivery_body(bigint, timestamptz);
create or replace function hookline._delivery_body(e hookline.events)
returns table (body text)
language sql
stable
rows 1
-- No SET clause, so the planner inlines it into claim's query (a SET would forbid that);
-- every name is schema-qualified instead.
--
-- The text is put together directly, not built as jsonb and printed: building a jsonb object
-- walks and copies the whole payload twice more (the object, then ||) before printing it, and
-- the payload's printing is most of the work. The keys come in the order jsonb prints them
-- (shorter first, then bytewise), with its spacing, so the body is exactly what
-- jsonb_build_object(...)::text gave (tests/sql/_delivery_body checks body = body::jsonb::text).
as $$
  -- Grouped from the right: the parts after the payload are joined first (short strings), then
  -- the payload and they, then the head: the payload's kilobyte is copied twice, not once per ||.
  select '{"id": "evt_' || (_delivery_body.e).event_id || '", "data": '
    || ((_delivery_body.e).payload::text
    || (', "type": ' || pg_catalog.to_json((_delivery_body.e).event_type)::text
    || ', "source": ' || pg_catalog.to_json(s.name)::text
    || case when s.kind = 'whatsapp' then
         ', "whatsapp": {"wa_id": ' || coalesce(pg_catalog.to_json((_delivery_body.e).wa_id)::text, 'null')
         || ', "user_id": ' || coalesce(pg_catalog.to_json((_delivery_body.e).user_id)::text, 'null')
         || ', "phone_number_id": ' || coalesce(pg_catalog.to_json((_delivery_body.e).phone_number_id)::text, 'null') || '}'
       else '' end
    || case when (_delivery_body.e).sanitized is not null
         then ', "sanitized": ' || pg_catalog.to_jsonb((_delivery_body.e).sanitized)::text else '' end
    || ', "timestamp": ' || pg_catalog.to_json(coalesce((_delivery_body.e).occurred_at, (_delivery_body.e).received_at))::text
    || ', "occurred_at": ' || coalesce(pg_catalog.to_json((_delivery_body.e).occurred_at)::text, 'null')
    || ', "received_at": ' || pg_catalog.to_json((_delivery_body.e).received_at)::text
    || '}'))
  from hookline.sources s
  where s.source_id = (_delivery_body.e).source_id
$$;

comment on function hookline._delivery_body(hookline.events) is
  'Inlinable: the JSON body hookline delivers for an event (docs/envelope.schema.json): id (evt_<event id>), type, source (name), timestamp (occurred_at, else received_at), occurred_at, received_at, whatsapp {phone_number_id, user_id, wa_id} for WhatsApp sources, sanitized (JSON Pointers into data of replaced strings) when any, and data (the event payload: for WhatsApp the notification narrowed to the one item). Written as text in jsonb''s own key order and spacing (the same text as the jsonb object printed), without building a jsonb value. Used by claim, on the event row it read; one primary-key probe of the source. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._delivery_body(hookline.events) from public;
