-- Deploy hookline:table_endpoints to pg
-- requires: table_tenants

BEGIN;

-- Column order: identity and tenant first, then the endpoint's configuration, audit columns last.
create table hookline.endpoints (
  endpoint_id bigint generated always as identity primary key,
  tenant_id text not null references hookline.tenants (tenant_id),
  name text not null,
  url text not null,
  signing_secret text not null,
  timeout_ms integer not null default 10000,
  max_in_flight integer not null default 10,
  retry_schedule interval[] not null default array[
    interval '1 minute', interval '10 minutes', interval '1 hour', interval '4 hours', interval '12 hours'
  ],
  is_retrying_client_errors boolean not null default false,
  state text not null default 'active',
  paused_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint endpoints_name_key unique (name),
  constraint endpoints_name_format check (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  constraint endpoints_url_format check (url ~ '^https?://[^\s/?#@]+([/?#]\S*)?$'),
  constraint endpoints_signing_secret_format check (signing_secret ~ '^whsec_[A-Za-z0-9+/=]{16,}$'),
  constraint endpoints_timeout_ms_range check (timeout_ms between 100 and 300000),
  constraint endpoints_max_in_flight_range check (max_in_flight between 1 and 10000),
  constraint endpoints_retry_schedule_valid check (
    cardinality(retry_schedule) between 0 and 50 and array_position(retry_schedule, null) is null
    and interval '0' < all (retry_schedule)
  ),
  constraint endpoints_state_known check (state in ('active', 'paused', 'disabled')),
  constraint endpoints_paused_reason_iff_paused check ((paused_reason is null) or state = 'paused')
);

create index endpoints_tenant_id_idx on hookline.endpoints (tenant_id);

comment on table hookline.endpoints is 'Internal handlers that receive deliveries: one URL per row, owned by a tenant.';
comment on column hookline.endpoints.endpoint_id is 'Surrogate key.';
comment on column hookline.endpoints.tenant_id is 'Owning tenant.';
comment on column hookline.endpoints.name is 'Unique name used by the CLI and SQL API.';
comment on column hookline.endpoints.url is 'http(s) URL the runner POSTs deliveries to.';
comment on column hookline.endpoints.signing_secret is 'Standard Webhooks secret (whsec_ + base64) the runner signs with. Never shown in views.';
comment on column hookline.endpoints.timeout_ms is 'Request timeout in milliseconds; a claim''s lease is at least this plus one second.';
comment on column hookline.endpoints.max_in_flight is 'Most deliveries of this endpoint in flight at once, across all runners (enforced by hookline.claim).';
comment on column hookline.endpoints.retry_schedule is 'Delay before retry n (1-based) after a failed attempt; after the last one a failure is dead. Default 1 min, 10 min, 1 h, 4 h, 12 h.';
comment on column hookline.endpoints.is_retrying_client_errors is 'When true, 4xx answers other than 410 are retried like 5xx instead of being permanent.';
comment on column hookline.endpoints.state is 'active (claimed), paused (deliveries wait; also set by a 410 answer) or disabled (no new deliveries, none claimed).';
comment on column hookline.endpoints.paused_reason is 'Why the endpoint is paused (operator text, or the 410 that paused it).';
comment on column hookline.endpoints.created_at is 'When the endpoint was added.';
comment on column hookline.endpoints.updated_at is 'When the endpoint was last changed.';

COMMIT;
