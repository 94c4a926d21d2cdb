create or replace function hookline._delivery_body(event_id bigint, event_received_at timestamptz)
returns table (body text)
language sql
stable
rows 1
-- No SET clause, so the planner inlines it into claim's query (a SET would forbid that);
-- every name is schema-qualified instead.
as $$
  select pg_catalog.jsonb_build_object(
      'id', 'evt_' || e.event_id,
      'type', e.event_type,
      'source', s.name,
      'timestamp', coalesce(e.occurred_at, e.received_at),
      'occurred_at', e.occurred_at,
      'received_at', e.received_at,
      'data', e.payload
    )
    || case when s.kind = 'whatsapp' then pg_catalog.jsonb_build_object('whatsapp', pg_catalog.jsonb_build_object(
         'phone_number_id', e.phone_number_id, 'user_id', e.user_id, 'wa_id', e.wa_id))
       else '{}'::jsonb end
    || case when e.sanitized is not null then pg_catalog.jsonb_build_object('sanitized', e.sanitized)
       else '{}'::jsonb end
  from hookline.events e
  join hookline.sources s on s.source_id = e.source_id
  where e.event_id = _delivery_body.event_id and e.received_at = _delivery_body.event_received_at
$$;

comment on function hookline._delivery_body(bigint, timestamptz) is
  'Inlinable: the JSON body hookline delivers for an event (docs/envelope.schema.json): id (evt_<event id>), type, source (name), timestamp (occurred_at, else received_at), occurred_at, received_at, whatsapp {phone_number_id, user_id, wa_id} for WhatsApp sources, sanitized (JSON Pointers into data of replaced strings) when any, and data (the event payload: for WhatsApp the notification narrowed to the one item). Used by claim; one primary-key probe. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._delivery_body(bigint, timestamptz) from public;
