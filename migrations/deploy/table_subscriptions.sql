-- Deploy hookline:table_subscriptions to pg
-- requires: table_endpoints
-- requires: table_sources

BEGIN;

create table hookline.subscriptions (
  subscription_id bigint generated always as identity primary key,
  tenant_id text not null references hookline.tenants (tenant_id),
  endpoint_id bigint not null references hookline.endpoints (endpoint_id) on delete cascade,
  event_type_pattern text not null,
  source_id bigint references hookline.sources (source_id) on delete cascade,
  -- '*' as a segment matches one or more whole segments: whatsapp.message.* matches
  -- whatsapp.message.text and whatsapp.message.status.read; * alone matches every type.
  event_type_regex text not null generated always as (
    '^' || replace(replace(event_type_pattern, '.', '\.'), '*', '[a-z0-9_-]+(\.[a-z0-9_-]+)*') || '$'
  ) stored,
  created_at timestamptz not null default now(),
  constraint subscriptions_event_type_pattern_format check (
    event_type_pattern ~ '^(\*|[a-z0-9_-]+)(\.(\*|[a-z0-9_-]+))*$'
  ),
  constraint subscriptions_once unique nulls not distinct (endpoint_id, event_type_pattern, source_id)
);

create index subscriptions_tenant_id_idx on hookline.subscriptions (tenant_id);
create index subscriptions_source_id_idx on hookline.subscriptions (source_id);

comment on table hookline.subscriptions is 'Which event types (patterns) and, optionally, which source an endpoint receives.';
comment on column hookline.subscriptions.subscription_id is 'Surrogate key.';
comment on column hookline.subscriptions.tenant_id is 'Owning tenant (the endpoint''s).';
comment on column hookline.subscriptions.endpoint_id is 'The endpoint that receives matching events.';
comment on column hookline.subscriptions.event_type_pattern is 'Dotted event type; a * segment matches one or more segments (whatsapp.message.*, *).';
comment on column hookline.subscriptions.source_id is 'Only events of this source; null for every source of the tenant.';
comment on column hookline.subscriptions.event_type_regex is 'The pattern as an anchored regular expression (derived).';
comment on column hookline.subscriptions.created_at is 'When the subscription was added.';

COMMIT;
