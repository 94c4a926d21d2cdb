-- Deploy hookline:table_sources to pg
-- requires: table_tenants

BEGIN;

-- Column order: identity and tenant first, then the source's configuration, audit columns last.
create table hookline.sources (
  source_id bigint generated always as identity primary key,
  tenant_id text not null references hookline.tenants (tenant_id),
  name text not null,
  kind text not null,
  signing_secrets text[] not null,
  verify_token text,
  max_body_bytes integer not null default 4194304,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint sources_name_key unique (name),
  constraint sources_name_format check (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  constraint sources_kind_known check (kind in ('whatsapp', 'standard-webhooks')),
  constraint sources_one_or_two_secrets check (
    cardinality(signing_secrets) between 1 and 2 and array_position(signing_secrets, null) is null
  ),
  constraint sources_max_body_bytes_positive check (max_body_bytes > 0)
);

create index sources_tenant_id_idx on hookline.sources (tenant_id);

comment on table hookline.sources is 'Where webhooks come from: one row per WhatsApp app (or Standard Webhooks sender), addressed as /webhooks/{name}.';
comment on column hookline.sources.source_id is 'Surrogate key.';
comment on column hookline.sources.tenant_id is 'Owning tenant.';
comment on column hookline.sources.name is 'URL-safe unique name: the {source} path segment of the ingress.';
comment on column hookline.sources.kind is 'Verification scheme: whatsapp (X-Hub-Signature-256) or standard-webhooks.';
comment on column hookline.sources.signing_secrets is 'One secret, or two while a secret is being rotated; a body signed with either is accepted. Never shown in views.';
comment on column hookline.sources.verify_token is 'Token expected in the GET subscription handshake (hub.verify_token); whatsapp sources only.';
comment on column hookline.sources.max_body_bytes is 'Largest request body accepted, in bytes (default 4 MiB).';
comment on column hookline.sources.created_at is 'When the source was added.';
comment on column hookline.sources.updated_at is 'When the source was last changed.';

COMMIT;
