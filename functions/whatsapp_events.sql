create or replace function hookline.whatsapp_events(body jsonb)
returns table (
  external_id text,
  event_type text,
  occurred_at timestamptz,
  phone_number_id text,
  user_id text,
  wa_id text,
  payload jsonb
)
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_entry jsonb;
  v_change jsonb;
  v_value jsonb;
  v_item jsonb;
  v_contact jsonb;
  v_kind text;
  v_known boolean;
begin
  if whatsapp_events.body is null or pg_catalog.jsonb_typeof(whatsapp_events.body) <> 'object'
     or whatsapp_events.body->>'object' is distinct from 'whatsapp_business_account' then
    raise exception using
      errcode = 'HL040',
      message = 'not a WhatsApp Business Account notification: "object" must be "whatsapp_business_account"';
  end if;
  if pg_catalog.jsonb_typeof(whatsapp_events.body->'entry') is distinct from 'array' then
    raise exception using
      errcode = 'HL040',
      message = 'not a WhatsApp Business Account notification: "entry" must be an array';
  end if;

  for v_entry in select e from pg_catalog.jsonb_array_elements(whatsapp_events.body->'entry') e loop
    for v_change in
      select c from pg_catalog.jsonb_array_elements(
        case when pg_catalog.jsonb_typeof(v_entry->'changes') = 'array' then v_entry->'changes' else '[null]'::jsonb end
      ) c
    loop
      v_value := case when pg_catalog.jsonb_typeof(v_change->'value') = 'object' then v_change->'value' end;
      v_known := false;
      phone_number_id := v_value->'metadata'->>'phone_number_id';

      -- Messages, then statuses, then errors: one event per item. The payload is the original
      -- notification narrowed to that one item, with its metadata and contacts.
      foreach v_kind in array array['messages', 'statuses', 'errors'] loop
        continue when pg_catalog.jsonb_typeof(v_value->v_kind) is distinct from 'array';
        for v_item in select i from pg_catalog.jsonb_array_elements(v_value->v_kind) i loop
          continue when pg_catalog.jsonb_typeof(v_item) <> 'object';
          v_known := true;
          payload := pg_catalog.jsonb_build_object(
            'object', whatsapp_events.body->'object',
            'entry', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
              'id', v_entry->'id',
              'changes', pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                'field', v_change->'field',
                'value', (v_value - 'messages' - 'statuses' - 'errors')
                         || pg_catalog.jsonb_build_object(v_kind, pg_catalog.jsonb_build_array(v_item))
              ))
            ))
          );
          occurred_at := case
            when v_item->>'timestamp' ~ '^[0-9]{1,12}$' then pg_catalog.to_timestamp((v_item->>'timestamp')::bigint)
          end;

          if v_kind = 'errors' then
            event_type := 'whatsapp.error';
            -- An error item has no id of its own: the key is a digest of the item and where it came from.
            external_id := 'sha256:' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
              pg_catalog.jsonb_build_array(v_entry->'id', phone_number_id, v_item)::text, 'UTF8')), 'hex');
            user_id := null;
            wa_id := null;
            return next;
            continue;
          end if;

          if v_kind = 'messages' then
            event_type := 'whatsapp.message.' || case
              when v_item->>'type' ~ '^[a-z0-9_]{1,40}$' then v_item->>'type' else 'unknown' end;
            user_id := v_item->>'from_user_id';
            wa_id := v_item->>'from';
            external_id := v_item->>'id';
          else
            event_type := 'whatsapp.status.' || case
              when v_item->>'status' ~ '^[a-z0-9_]{1,40}$' then v_item->>'status' else 'unknown' end;
            user_id := v_item->>'recipient_user_id';
            wa_id := v_item->>'recipient_id';
            external_id := (v_item->>'id') || ':' || coalesce(v_item->>'status', '');
          end if;

          -- The contact of this item: the one with the same user id or wa_id, else the only one.
          select c into v_contact
          from pg_catalog.jsonb_array_elements(
            case when pg_catalog.jsonb_typeof(v_value->'contacts') = 'array' then v_value->'contacts' else '[]'::jsonb end
          ) with ordinality as t (c, n)
          where pg_catalog.jsonb_typeof(c) = 'object'
            and (c->>'user_id' = user_id or c->>'wa_id' = wa_id
                 or pg_catalog.jsonb_array_length(v_value->'contacts') = 1)
          order by (c->>'user_id' = user_id) is true desc, (c->>'wa_id' = wa_id) is true desc, n
          limit 1;
          user_id := coalesce(user_id, v_contact->>'user_id');
          wa_id := coalesce(v_contact->>'wa_id', wa_id);

          if coalesce(v_item->>'id', '') = '' then
            external_id := 'sha256:' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(
              pg_catalog.jsonb_build_array(v_entry->'id', phone_number_id, v_item)::text, 'UTF8')), 'hex');
          end if;
          return next;
        end loop;
      end loop;

      -- Nothing recognisable in this change (another webhook field, a new shape): keep it
      -- whole as whatsapp.unknown rather than reject it, so new Meta fields never lose a webhook.
      if not v_known then
        event_type := 'whatsapp.unknown';
        occurred_at := null;
        user_id := null;
        wa_id := null;
        payload := pg_catalog.jsonb_build_object(
          'object', whatsapp_events.body->'object',
          'entry', pg_catalog.jsonb_build_array(
            (v_entry - 'changes') || case when v_change is null then '{}'::jsonb
                                          else pg_catalog.jsonb_build_object('changes', pg_catalog.jsonb_build_array(v_change)) end
          )
        );
        external_id := 'sha256:' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(payload::text, 'UTF8')), 'hex');
        return next;
      end if;
    end loop;
  end loop;
end
$$;

comment on function hookline.whatsapp_events(jsonb) is
  'Splits one WhatsApp Cloud API notification body into events, one per message, status and error item: (external_id, event_type, occurred_at, phone_number_id, user_id, wa_id, payload). external_id is the wamid for a message, wamid:status for a status, a sha256 digest for items without an id; occurred_at is the item''s Unix timestamp; user_id is the business-scoped user id; payload is the notification narrowed to the one item (metadata and contacts kept). A change with no recognisable item becomes one whatsapp.unknown event. Pure: stores nothing. Errors: HL040 the body is not a WhatsApp Business Account notification (object, entry).';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.whatsapp_events(jsonb) from public;
