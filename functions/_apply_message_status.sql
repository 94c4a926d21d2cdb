create or replace function hookline._apply_message_status(phone_number_id text, status jsonb, now timestamptz)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_m hookline.outbox;
  v_rank integer;
  v_new hookline.outbox_state;
  v_code integer;
begin
  select o.* into v_m from hookline.outbox o where o.wamid = _apply_message_status.status->>'id';
  if not found and _apply_message_status.status->>'biz_opaque_callback_data' ~ '^hookline:[0-9]{1,18}$' then
    -- The send's answer was lost: the outbox id echoed back finds the message.
    select o.* into v_m from hookline.outbox o
    where o.message_id = pg_catalog.substr(_apply_message_status.status->>'biz_opaque_callback_data', 10)::bigint
      and o.phone_number_id = _apply_message_status.phone_number_id;
  end if;
  if not found then
    return null;  -- not ours (another system's message): the event is kept, nothing else
  end if;
  -- The lock order (docs/outbound.md): a failed status may touch the sender and its breaker,
  -- so they are locked before the message; other statuses touch the message alone.
  if _apply_message_status.status->>'status' = 'failed' then
    perform from hookline.senders s where s.phone_number_id = v_m.phone_number_id for no key update;
    perform from hookline.circuit_breakers b where b.target = 'sender:' || v_m.phone_number_id for update;
  end if;
  select o.* into v_m from hookline.outbox o where o.message_id = v_m.message_id for update;
  if not found then
    return null;  -- pruned meanwhile
  end if;

  if _apply_message_status.status->>'status' in ('sent', 'delivered', 'read', 'played') then
    v_new := case _apply_message_status.status->>'status' when 'sent' then 'sent' when 'delivered' then 'delivered'
             else 'read' end;
    v_rank := case v_m.state when 'sent' then 1 when 'delivered' then 2 when 'read' then 3 when 'failed' then 4 else 0 end;
    -- Statuses arrive out of order: keep the highest (sent < delivered < read), never go back.
    -- A status beats a guess: an unconfirmed, queued or dead message that did go is updated.
    if (case v_new when 'sent' then 1 when 'delivered' then 2 else 3 end) <= v_rank then
      return v_m.state::text;
    end if;
    update hookline.outbox o
    set state = v_new, wamid = coalesce(o.wamid, _apply_message_status.status->>'id'),
      lease_token = null, runner = null, next_attempt_at = null, finished_at = null,
      sent_at = coalesce(o.sent_at, _apply_message_status.now),
      delivered_at = case when v_new in ('delivered', 'read') then coalesce(o.delivered_at, _apply_message_status.now) end,
      read_at = case when v_new = 'read' then _apply_message_status.now end
    where o.message_id = v_m.message_id;
    return v_new::text;
  end if;

  if _apply_message_status.status->>'status' = 'failed' and v_m.state in ('queued', 'sending', 'unconfirmed', 'sent') then
    v_code := case when _apply_message_status.status#>>'{errors,0,code}' ~ '^[0-9]{1,9}$'
                   then (_apply_message_status.status#>>'{errors,0,code}')::integer end;
    update hookline.outbox o set wamid = coalesce(o.wamid, _apply_message_status.status->>'id')
    where o.message_id = v_m.message_id;
    return (select x.state::text from hookline._message_outcome(
      v_m.message_id,
      case when v_code is null then 'unknown' else hookline._graph_error_class(v_code, false) end,
      v_code, 'failed status: ' || coalesce(_apply_message_status.status#>>'{errors,0,title}', 'no title'),
      null, _apply_message_status.now) x);
  end if;
  return v_m.state::text;
end
$$;

comment on function hookline._apply_message_status(text, jsonb, timestamptz) is
  'Private, called by receive for each new whatsapp.status.* event. Finds the outbox message by wamid, else by the outbox id in biz_opaque_callback_data (hookline:<id>) of the same number, and moves it forward: sent, delivered, read (played counts as read), never backwards; failed is classified by its error code like a send''s answer (permanent fails, transient retries as a new send). Returns the message''s state, or null for a status of a message hookline did not send. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._apply_message_status(text,jsonb,timestamp with time zone) from public;
