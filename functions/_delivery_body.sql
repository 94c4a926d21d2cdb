-- It takes the event's row since claim reads that row once for everything it returns.
drop function if exists hookline._delivery_body(bigint, timestamptz);
create or replace function hookline._delivery_body(e hookline.events)
returns table (body text)
language sql
stable
rows 1
-- No SET clause, so the planner inlines it into claim's query (a SET would forbid that);
-- every name is schema-qualified instead.
as $$
  select pg_catalog.jsonb_build_object(
      'id', 'evt_' || (_delivery_body.e).event_id,
      'type', (_delivery_body.e).event_type,
      'source', s.name,
      'timestamp', coalesce((_delivery_body.e).occurred_at, (_delivery_body.e).received_at),
      'occurred_at', (_delivery_body.e).occurred_at,
      'received_at', (_delivery_body.e).received_at,
      'data', (_delivery_body.e).payload
    )
    || case when s.kind = 'whatsapp' then pg_catalog.jsonb_build_object('whatsapp', pg_catalog.jsonb_build_object(
         'phone_number_id', (_delivery_body.e).phone_number_id, 'user_id', (_delivery_body.e).user_id,
         'wa_id', (_delivery_body.e).wa_id))
       else '{}'::jsonb end
    || case when (_delivery_body.e).sanitized is not null then pg_catalog.jsonb_build_object('sanitized', (_delivery_body.e).sanitized)
       else '{}'::jsonb end
  from hookline.sources s
  where s.source_id = (_delivery_body.e).source_id
$$;

comment on function hookline._delivery_body(hookline.events) is
  'Inlinable: the JSON body hookline delivers for an event (docs/envelope.schema.json): id (evt_<event id>), type, source (name), timestamp (occurred_at, else received_at), occurred_at, received_at, whatsapp {phone_number_id, user_id, wa_id} for WhatsApp sources, sanitized (JSON Pointers into data of replaced strings) when any, and data (the event payload: for WhatsApp the notification narrowed to the one item). Used by claim, on the event row it read; one primary-key probe of the source. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._delivery_body(hookline.events) from public;
