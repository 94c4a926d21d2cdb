create or replace function hookline.remove_source(source text)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_id bigint;
  v_senders bigint;
begin
  -- Locked first: a concurrent add_sender or add_subscription of the source waits for this
  -- call and then finds no source (HL001), or this call waits for them and counts the sender.
  select s.source_id into v_id from hookline.sources s where s.name = remove_source.source for update;
  if not found then
    raise exception using
      errcode = 'HL001',
      message = format('unknown source %L', remove_source.source),
      hint = 'hookline sources list shows the sources.';
  end if;
  -- Senders (and their outbox messages) refer to the source: removing it would fail on their
  -- foreign keys, and no message queued for sending may be lost.
  select pg_catalog.count(*) into v_senders from hookline.senders s where s.source_id = v_id;
  if v_senders > 0 then
    raise exception using
      errcode = 'HL045',
      message = format('source %L has %s senders', remove_source.source, v_senders),
      hint = 'Senders are not removed: pause them (hookline senders pause) to stop sending.';
  end if;
  delete from hookline.sources s where s.source_id = v_id;
end
$$;

comment on function hookline.remove_source(text) is
  'Removes a source: its webhooks are answered 404 from then on (within the ingress cache bound). Its stored events and raw requests stay until retention drops their partitions. Errors: HL001 unknown source; HL045 senders refer to it.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.remove_source(text) from public;
