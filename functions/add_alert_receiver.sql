create or replace function hookline.add_alert_receiver(
  tenant text,
  name text,
  format text,
  url text,
  routing_key text default null
)
returns hookline.alert_receivers
language plpgsql
set search_path = ''
as $$
declare
  v_source text := pg_catalog.left(add_alert_receiver.tenant, 56) || '-alerts';
  v_source_id bigint;
  v_endpoint_id bigint;
  v_receiver hookline.alert_receivers;
begin
  if add_alert_receiver.format is null or add_alert_receiver.format not in ('pagerduty', 'opsgenie')
     or (add_alert_receiver.routing_key is null) = (add_alert_receiver.format = 'pagerduty') then
    raise exception using errcode = 'HL110',
      message = 'an alert receiver is pagerduty (with a routing key) or opsgenie (without one)';
  end if;
  if add_alert_receiver.name is null or add_alert_receiver.name !~ '^[a-z0-9][a-z0-9_-]{0,40}$' then
    raise exception using errcode = 'HL110',
      message = format('invalid receiver name %L', add_alert_receiver.name),
      hint = 'Lowercase letters, digits, - and _; at most 41 characters.';
  end if;
  if not exists (select from hookline.tenants t where t.tenant_id = add_alert_receiver.tenant) then
    raise exception using errcode = 'HL044',
      message = format('unknown tenant %L', add_alert_receiver.tenant),
      hint = 'Add the tenant first (as the owner: insert into hookline.tenants).';
  end if;
  -- The source alert events are ingested under: one per tenant, never posted to (its
  -- secret is random and never shown).
  insert into hookline.sources (tenant_id, name, kind, signing_secrets)
  values (add_alert_receiver.tenant, v_source, 'standard-webhooks',
    array['whsec_' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.gen_random_uuid()::text::bytea), 'base64')])
  on conflict on constraint sources_name_key do nothing;
  select s.source_id into strict v_source_id
  from hookline.sources s where s.name = v_source and s.tenant_id = add_alert_receiver.tenant;

  select e.endpoint_id into v_endpoint_id
  from hookline.add_endpoint(add_alert_receiver.tenant, 'alert-' || add_alert_receiver.name,
    add_alert_receiver.url) e;
  update hookline.endpoints e set body_format = 'payload' where e.endpoint_id = v_endpoint_id;
  perform hookline.add_subscription('alert-' || add_alert_receiver.name,
    'hookline.alert.' || add_alert_receiver.name, v_source);

  insert into hookline.alert_receivers (receiver_name, format, endpoint_id, source_id, routing_key)
  values (add_alert_receiver.name, add_alert_receiver.format, v_endpoint_id, v_source_id,
    add_alert_receiver.routing_key)
  returning * into v_receiver;
  return v_receiver;
end
$$;

comment on function hookline.add_alert_receiver(text, text, text, text, text) is
  'Adds a receiver of the alerts of hookline.evaluate_alerts: an endpoint alert-<name> of the tenant (delivering the event payload as is) subscribed to hookline.alert.<name> from the tenant''s <tenant>-alerts source (created on first use). format pagerduty takes the PagerDuty Events API v2 URL and the integration''s routing key; opsgenie the URL of an Opsgenie Prometheus integration (its key in the URL). Errors: HL110 invalid format, routing key or name; HL044 unknown tenant; those of add_endpoint and add_subscription.';

-- Owner only (admin): no grants.
revoke all on function hookline.add_alert_receiver(text, text, text, text, text) from public;
