create or replace function hookline.add_subscription(
  endpoint text,
  event_type_pattern text,
  source text default null
)
returns bigint
language plpgsql
set search_path = ''
as $$
declare
  v_endpoint_id bigint := hookline._endpoint_id(add_subscription.endpoint);
  v_source_id bigint;
  v_tenant_id text;
  v_id bigint;
begin
  -- At most 1,000 characters: a unique index entry holds about 2.7 kB, and a longer pattern
  -- failed on subscriptions_once (54000) instead of saying what is wrong.
  if pg_catalog.length(add_subscription.event_type_pattern) > 1000 then
    raise exception using
      errcode = 'HL022',
      message = format('an event type pattern is at most 1000 characters, not %s', pg_catalog.length(add_subscription.event_type_pattern));
  end if;
  if add_subscription.event_type_pattern is null
     or add_subscription.event_type_pattern !~ '^(\*|[a-z0-9_-]+)(\.(\*|[a-z0-9_-]+))*$' then
    raise exception using
      errcode = 'HL022',
      message = format('invalid event type pattern %L', add_subscription.event_type_pattern),
      hint = 'Dotted lowercase words; a * segment matches one or more segments: whatsapp.message.*, *.';
  end if;
  -- Key share on the endpoint and the source: a concurrent remove_endpoint or remove_source
  -- waits for this call, or this call waits for it and finds them gone (HL020, HL001), never a
  -- foreign key violation at the insert.
  select e.tenant_id into v_tenant_id from hookline.endpoints e where e.endpoint_id = v_endpoint_id for key share;
  if not found then
    raise exception using errcode = 'HL020', message = format('unknown endpoint %L', add_subscription.endpoint);
  end if;
  if add_subscription.source is not null then
    select s.source_id into v_source_id
    from hookline.sources s
    where s.name = add_subscription.source and s.tenant_id = v_tenant_id
    for key share;
    if not found then
      raise exception using
        errcode = 'HL001',
        message = format('unknown source %L of tenant %L', add_subscription.source, v_tenant_id);
    end if;
  end if;
  insert into hookline.subscriptions (tenant_id, endpoint_id, event_type_pattern, source_id)
  values (v_tenant_id, v_endpoint_id, add_subscription.event_type_pattern, v_source_id)
  on conflict on constraint subscriptions_once do nothing
  returning subscription_id into v_id;
  if v_id is null then
    select s.subscription_id into strict v_id
    from hookline.subscriptions s
    where s.endpoint_id = v_endpoint_id and s.event_type_pattern = add_subscription.event_type_pattern
      and s.source_id is not distinct from v_source_id;
  end if;
  return v_id;
end
$$;

comment on function hookline.add_subscription(text, text, text) is
  'Subscribes an endpoint to event types matching a pattern (a * segment matches one or more segments), optionally from one source of its tenant. Idempotent: returns the existing id for the same subscription. Errors: HL020 unknown endpoint; HL022 invalid pattern; HL001 unknown source (of that tenant).';

-- Owner only (admin and internal): no grants.
revoke all on function hookline.add_subscription(text,text,text) from public;
