-- It replaces hookline._apply_message_status, which applied one status at a time (a PL/pgSQL
-- call per status of a group). hookline db deploy drops a function whose file is gone; psql
-- -f functions/index.sql does not.
drop function if exists hookline._apply_message_status(bigint, jsonb, text, timestamptz);

create or replace function hookline._apply_message_statuses(
  message_ids bigint[],
  statuses jsonb[],
  error_classes text[],
  now timestamptz
)
returns void
language plpgsql
set search_path = ''
as $$
#variable_conflict use_column
declare
  v_rounds integer;
  v_failed bigint[];
  v_classes text[];
  v_codes integer[];
  v_details text[];
  v_before hookline.outbox_state[];
  v_before_next timestamptz[];
  v_outcome_ids bigint[];
  v_after hookline.outbox_state[];
begin
  -- The new status events of a group (receive_many), element i of each array being status i:
  -- its message, the status item, and for a failed one its error class (the caller read it
  -- from hookline._graph_error_class). The caller found each message among the messages of
  -- the notification's tenant and number, and holds its lock and, for a failed status, its
  -- sender's and breaker's (the lock order of docs/outbound.md).
  --
  -- Set-based: a pass for the first status of each message, one more for the second, and so on
  -- (a group seldom carries two statuses of one message, say delivered and read), so that a
  -- message's statuses apply in the group's order; each pass one statement for the statuses
  -- that move messages forward and one call for the failed ones.
  select pg_catalog.max(x.statuses)::integer into v_rounds
  from (
    select pg_catalog.count(*) as statuses
    from pg_catalog.unnest(_apply_message_statuses.message_ids) as u(message_id)
    group by u.message_id
  ) x;
  for v_round in 1 .. coalesce(v_rounds, 0) loop
    -- This pass's statuses, with their messages as they stand now. A message whose answer was
    -- lost learns its wamid from the status; never one that another message has (a wamid is
    -- one copy of one message), nor one that an earlier status of the pass teaches another
    -- message. Otherwise the status changes nothing.
    with pass as materialized (
      select p.*
      from (
        select u.message_id, u.item, u.error_class, u.n, o.state, o.wamid, o.next_attempt_at,
          u.status_wamid, u.item->>'status' as status,
          pg_catalog.row_number() over (partition by o.wamid is null, u.status_wamid order by u.n) as nth_learner
        from (
          select u.*, hookline._id_key(u.item->>'id') as status_wamid,
            pg_catalog.row_number() over (partition by u.message_id order by u.n) as nth
          from rows from (pg_catalog.unnest(_apply_message_statuses.message_ids), pg_catalog.unnest(_apply_message_statuses.statuses),
                          pg_catalog.unnest(_apply_message_statuses.error_classes))
            with ordinality as u(message_id, item, error_class, n)
        ) u
        join hookline.outbox o on o.message_id = u.message_id and o.message_id = any (_apply_message_statuses.message_ids)
        where u.nth = v_round
      ) p
      where p.wamid is not null
         or (p.status_wamid is not null and p.nth_learner = 1
             and not exists (select from hookline.outbox w where w.wamid = p.status_wamid))
    ),
    -- Sent, delivered, read (played counts as read): statuses arrive out of order, so the
    -- highest wins (sent < delivered < read), never backwards. A status beats a guess: an
    -- unconfirmed, queued, sending or dead message that did go is updated (a runner's answer
    -- after it is stale).
    forward as (
      update hookline.outbox o
      set state = x.new_state, wamid = coalesce(o.wamid, x.status_wamid),
        lease_token = null, runner = null, next_attempt_at = null, finished_at = null,
        sent_at = coalesce(o.sent_at, _apply_message_statuses.now),
        delivered_at = case when x.new_state in ('delivered', 'read') then coalesce(o.delivered_at, _apply_message_statuses.now) end,
        read_at = case when x.new_state = 'read' then _apply_message_statuses.now end
      from (
        select p.message_id, p.status_wamid,
          (case p.status when 'sent' then 'sent' when 'delivered' then 'delivered' else 'read' end)::hookline.outbox_state as new_state
        from pass p
        where p.status in ('sent', 'delivered', 'read', 'played')
          and (case p.status when 'sent' then 1 when 'delivered' then 2 else 3 end)
              > (case p.state when 'sent' then 1 when 'delivered' then 2 when 'read' then 3 when 'failed' then 4 else 0 end)
      ) x
      where o.message_id = x.message_id and o.message_id = any (_apply_message_statuses.message_ids)
      returning 1
    ),
    -- A failed status is classified by its error code like a send's answer (below), except
    -- when it cannot be about the copy that counts: a sent message whose wamid is another (an
    -- earlier copy failed, one sent since was accepted: queued again, it went twice), or a
    -- final one.
    failed as (
      update hookline.outbox o
      set wamid = coalesce(o.wamid, p.status_wamid)
      from pass p
      where o.message_id = p.message_id and o.message_id = any (_apply_message_statuses.message_ids)
        and p.status = 'failed'
        and (p.state in ('queued', 'sending', 'unconfirmed') or (p.state = 'sent' and p.wamid = p.status_wamid))
      returning o.message_id, p.error_class,
        case when p.item#>>'{errors,0,code}' ~ '^[0-9]{1,9}$' then (p.item#>>'{errors,0,code}')::integer end as code,
        'failed status: ' || coalesce(p.item#>>'{errors,0,title}', 'no title') as detail,
        p.state, p.next_attempt_at
    )
    select pg_catalog.array_agg(f.message_id order by f.message_id), pg_catalog.array_agg(f.error_class order by f.message_id),
      pg_catalog.array_agg(f.code order by f.message_id), pg_catalog.array_agg(f.detail order by f.message_id),
      pg_catalog.array_agg(f.state order by f.message_id), pg_catalog.array_agg(f.next_attempt_at order by f.message_id)
    into v_failed, v_classes, v_codes, v_details, v_before, v_before_next
    from failed f;

    if v_failed is not null then
      -- Its own statement: a function with side effects in a join runs only when the join
      -- reads it.
      select pg_catalog.array_agg(m.message_id), pg_catalog.array_agg(m.state) into v_outcome_ids, v_after
      from hookline._message_outcomes(v_failed, v_classes, v_codes, v_details,
                                      pg_catalog.array_fill(null::double precision, array[pg_catalog.cardinality(v_failed)]),
                                      _apply_message_statuses.now) m;
      -- A queued or leased message's retry is never due before the message was (a throttle's
      -- or the pair limit's wait), nor before its lease ends: the status may be of the copy its
      -- runner is sending now, or of an earlier one, and its runner may be sending it at this
      -- moment (made claimable at once, it was sent twice at the same time). That runner's
      -- answer is then stale; a status of the copy it sent moves the message on as any status.
      update hookline.outbox o
      set next_attempt_at = greatest(o.next_attempt_at, b.next_attempt_at)
      from rows from (pg_catalog.unnest(v_failed), pg_catalog.unnest(v_before), pg_catalog.unnest(v_before_next))
        as b(message_id, state, next_attempt_at)
      join rows from (pg_catalog.unnest(v_outcome_ids), pg_catalog.unnest(v_after)) as a(message_id, state)
        on a.message_id = b.message_id
      where o.message_id = b.message_id and o.message_id = any (v_failed)
        and b.state in ('queued', 'sending') and a.state in ('queued', 'unconfirmed');
    end if;
  end loop;
end
$$;

comment on function hookline._apply_message_statuses(bigint[], jsonb[], text[], timestamptz) is
  'Private, called by receive_many with the group''s new whatsapp.status.* events whose messages it found (by wamid, else by the outbox id in biz_opaque_callback_data, hookline:<id>, among the messages of the notification''s tenant and number) and locked: element i of each array is status i (message, status item, error class of a failed one). Moves each message forward: sent, delivered, read (played counts as read), never backwards; a failed status is classified by its error code like a send''s answer (hookline._message_outcomes: permanent fails, transient sends it again), except of a sent message whose wamid is another (an earlier copy: nothing changes); a queued or leased message''s retry is never due before it was (nor before the lease ends). A wamid another message has is never learnt. Set-based: a pass per status of a message (nearly always one), each one statement and one call. Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._apply_message_statuses(bigint[], jsonb[], text[], timestamp with time zone) from public;
