-- The signature changed (the caller finds and locks the message; then it classifies a failed
-- status's error): drop the older forms on redeploy.
drop function if exists hookline._apply_message_status(text, jsonb, timestamptz);
drop function if exists hookline._apply_message_status(bigint, jsonb, timestamptz);

create or replace function hookline._apply_message_status(message_id bigint, status jsonb, error_class text, now timestamptz)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_m hookline.outbox;
  v_wamid text := _apply_message_status.status->>'id';
  v_rank integer;
  v_new hookline.outbox_state;
  v_code integer;
begin
  -- The caller (receive_many) found the message among those of the notification's tenant and
  -- number, and holds its lock and, for a failed status, its sender's and breaker's (the lock
  -- order of docs/outbound.md); it classified a failed status's error code (error_class, from
  -- hookline._graph_error_class: unknown without a code), once for its locks and this.
  select o.* into v_m from hookline.outbox o where o.message_id = _apply_message_status.message_id;
  if not found then
    return null;  -- pruned meanwhile
  end if;
  -- A message whose answer was lost learns its wamid from the status; never one that another
  -- message has (a wamid is one copy of one message).
  if v_m.wamid is null
     and (v_wamid is null or exists (select from hookline.outbox o where o.wamid = v_wamid)) then
    return v_m.state::text;
  end if;

  if _apply_message_status.status->>'status' in ('sent', 'delivered', 'read', 'played') then
    v_new := case _apply_message_status.status->>'status' when 'sent' then 'sent' when 'delivered' then 'delivered'
             else 'read' end;
    v_rank := case v_m.state when 'sent' then 1 when 'delivered' then 2 when 'read' then 3 when 'failed' then 4 else 0 end;
    -- Statuses arrive out of order: keep the highest (sent < delivered < read), never go back.
    -- A status beats a guess: an unconfirmed, queued, sending or dead message that did go is
    -- updated (a runner's answer after it is stale).
    if (case v_new when 'sent' then 1 when 'delivered' then 2 else 3 end) <= v_rank then
      return v_m.state::text;
    end if;
    update hookline.outbox o
    set state = v_new, wamid = coalesce(o.wamid, v_wamid),
      lease_token = null, runner = null, next_attempt_at = null, finished_at = null,
      sent_at = coalesce(o.sent_at, _apply_message_status.now),
      delivered_at = case when v_new in ('delivered', 'read') then coalesce(o.delivered_at, _apply_message_status.now) end,
      read_at = case when v_new = 'read' then _apply_message_status.now end
    where o.message_id = v_m.message_id;
    return v_new::text;
  end if;

  -- A failed status is classified by its error code like a send's answer, except when it
  -- cannot be about the copy that counts: a sent message whose wamid is another (an earlier
  -- copy failed, one sent since was accepted: queued again, it went twice), or a final one.
  -- A queued message's retry, or a leased one's, is never due before the message was (a
  -- throttle's or the pair limit's wait), nor before its lease ends: the status may be of the
  -- copy its runner is sending now, or of an earlier one, and its runner may be sending it at
  -- this moment (made claimable at once, it was sent twice at the same time). That runner's
  -- answer is then stale; a status of the copy it sent moves the message on as any status.
  if _apply_message_status.status->>'status' = 'failed'
     and (v_m.state in ('queued', 'sending', 'unconfirmed') or (v_m.state = 'sent' and v_m.wamid = v_wamid)) then
    v_code := case when _apply_message_status.status#>>'{errors,0,code}' ~ '^[0-9]{1,9}$'
                   then (_apply_message_status.status#>>'{errors,0,code}')::integer end;
    update hookline.outbox o set wamid = coalesce(o.wamid, v_wamid)
    where o.message_id = v_m.message_id;
    v_new := (select x.state from hookline._message_outcomes(
      array[v_m.message_id],
      array[_apply_message_status.error_class],
      array[v_code], array['failed status: ' || coalesce(_apply_message_status.status#>>'{errors,0,title}', 'no title')],
      array[null::double precision], _apply_message_status.now) x);
    if v_m.state in ('queued', 'sending') and v_new in ('queued', 'unconfirmed') then
      update hookline.outbox o set next_attempt_at = greatest(o.next_attempt_at, v_m.next_attempt_at)
      where o.message_id = v_m.message_id;
    end if;
    return v_new::text;
  end if;
  return v_m.state::text;
end
$$;

comment on function hookline._apply_message_status(bigint, jsonb, text, timestamptz) is
  'Private, called by receive_many for each new whatsapp.status.* event whose message it found (by wamid, else by the outbox id in biz_opaque_callback_data, hookline:<id>, among the messages of the notification''s tenant and number) and locked. Moves the message forward: sent, delivered, read (played counts as read), never backwards; a failed status is classified by its error code like a send''s answer (error_class, which receive_many read from hookline._graph_error_class: permanent fails, transient sends it again), except of a sent message whose wamid is another (an earlier copy: nothing changes); a queued or leased message''s retry is never due before it was (nor before the lease ends). A wamid another message has is never learnt. Returns the message''s state, or null when it is gone. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._apply_message_status(bigint,jsonb,text,timestamp with time zone) from public;
