create or replace function hookline.send_message(
  source text,
  "to" text,
  message jsonb,
  idempotency_key text,
  phone_number_id text default null,
  now timestamptz default pg_catalog.now()
)
returns bigint
language plpgsql
set search_path = ''
security definer
-- Reads by key or by index (the source's senders by source_id, the key's message): a plan
-- made while the senders were drained (vacuumed while one or two: statistics of 0 pages) read
-- them sequentially, every number of the platform in each send (10,003 rows at 10,000
-- numbers). No sequential or bitmap scan, and no JIT (the cost enable_seqscan adds to a small
-- table's read would cross jit_above_cost).
set enable_seqscan = off
set enable_bitmapscan = off
set jit = off
as $$
declare
  v_source hookline.sources;
  v_sender text;
  v_count integer;
  v_id bigint;
begin
  -- Another tenant's source reads as unknown: the same code and message as a missing one.
  select s.* into v_source from hookline.sources s
  where s.name = send_message.source and hookline._tenant_visible(s.tenant_id);
  if not found then
    raise exception using errcode = 'HL001', message = format('unknown source %L', send_message.source);
  end if;
  -- Phone numbers (with or without +) go as "to"; business-scoped user ids (CC.<id>, parent
  -- ids CC.ENT.<id>) as "recipient".
  if send_message."to" is null
     or send_message."to" !~ '^(\+?[0-9]{5,20}|[A-Z]{2}\.([A-Z]{2,8}\.)?[A-Za-z0-9]{1,128})$' then
    raise exception using errcode = 'HL061', message = 'to must be a phone number or a business-scoped user id';
  end if;
  if coalesce(pg_catalog.length(send_message.idempotency_key), 0) not between 1 and 200 then
    raise exception using errcode = 'HL061', message = 'idempotency_key must be 1 to 200 characters';
  end if;
  if send_message.message is null or pg_catalog.jsonb_typeof(send_message.message) <> 'object'
     or pg_catalog.jsonb_typeof(send_message.message->'type') is distinct from 'string'
     or pg_catalog.jsonb_typeof(send_message.message->(send_message.message->>'type')) is distinct from 'object' then
    raise exception using errcode = 'HL061',
      message = 'message must be a Cloud API message body: {"type": T, T: {...}}',
      hint = 'e.g. {"type": "text", "text": {"body": "hello"}}; see docs/outbound.md.';
  end if;
  if send_message.message ?| array['to', 'recipient', 'messaging_product', 'biz_opaque_callback_data'] then
    raise exception using errcode = 'HL061',
      message = 'message must not carry to, recipient, messaging_product or biz_opaque_callback_data: hookline sets them';
  end if;

  if send_message.phone_number_id is null then
    select pg_catalog.min(s.phone_number_id), pg_catalog.count(*) into v_sender, v_count
    from hookline.senders s where s.source_id = v_source.source_id;
    if v_count = 0 then
      raise exception using errcode = 'HL060', message = format('source %L has no sender', send_message.source),
        hint = 'Add one with hookline senders add.';
    elsif v_count > 1 then
      raise exception using errcode = 'HL067', message = format('source %L has %s senders: name one (phone_number_id)', send_message.source, v_count);
    end if;
  else
    select s.phone_number_id into v_sender from hookline.senders s
    where s.phone_number_id = send_message.phone_number_id and s.source_id = v_source.source_id;
    if not found then
      raise exception using errcode = 'HL060',
        message = format('source %L has no sender %L', send_message.source, send_message.phone_number_id);
    end if;
  end if;

  -- The key decides: a concurrent call with the same key waits for this transaction and then
  -- finds its row. The same key returns the existing message, whatever this call's content.
  insert into hookline.outbox as o (
    source_id, next_attempt_at, created_at, phone_number_id, tenant_id, idempotency_key, recipient, message
  )
  values (
    v_source.source_id, send_message.now, send_message.now, v_sender, v_source.tenant_id,
    send_message.idempotency_key, send_message."to", send_message.message
  )
  on conflict on constraint outbox_idempotency_key_key do nothing
  returning o.message_id into v_id;

  if v_id is null then
    select o.message_id into strict v_id from hookline.outbox o
    where o.source_id = v_source.source_id and o.idempotency_key = send_message.idempotency_key;
    return v_id;
  end if;
  perform hookline._wake('hookline_outbox');
  return v_id;
end
$$;

comment on function hookline.send_message(text, text, jsonb, text, text, timestamptz) is
  'Queues one outbound WhatsApp message in the caller''s transaction (it is sent only if that commits) and returns its outbox id; the same (source, idempotency_key) returns the existing message and queues nothing. to is a phone number (sent as "to") or a business-scoped user id (sent as "recipient"); message is the Cloud API body without recipient ({"type": "text", "text": {"body": "hi"}}; template, interactive and media alike). phone_number_id picks the sender when the source has several. Wakes a waiting outbound runner (channel hookline_outbox, only when one waits: hookline.next_message_due). Errors: HL001 unknown source; HL060 no such sender; HL061 invalid to, message or key; HL067 the source has several senders and none was named.';

-- SECURITY DEFINER: a handler's role queues replies without table privileges; the function
-- keeps it to its tenants' sources itself (an owner that is a superuser bypasses row level
-- security), and an unmapped source reads as unknown (HL001). Only the group role hookline_sender may call
-- it: the DBA grants that role to each handler's role (docs/outbound.md).
revoke all on function hookline.send_message(text,text,jsonb,text,text,timestamp with time zone) from public;
grant execute on function hookline.send_message(text,text,jsonb,text,text,timestamp with time zone) to hookline_sender;
