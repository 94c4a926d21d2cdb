begin;
select plan(7);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme'), ('globex', 'Globex');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'a', 'whatsapp', '{s}'), ('globex', 'g', 'whatsapp', '{s}');
select hookline.ingest(s, 'w1', 'x.y', '{}', null, '2026-03-01 10:00Z') from unnest(array['a', 'g']) s;

-- A non-superuser that owns the table: forced row level security binds it too.
create role tap_owner nologin in role hookline_readonly;
alter table hookline.events owner to tap_owner;
create role tap_ops nologin in role hookline_operator;

set local role tap_owner;
select is((select count(*)::int from hookline.events), 0, 'the owning role without a mapping sees no event');
reset role;
select hookline.grant_tenant('tap_owner', 'acme');
set local role tap_owner;
select is((select array_agg(distinct tenant_id) from hookline.events), array['acme'], 'mapped to acme, it sees acme only');
select throws_ok($$insert into hookline.events (received_at, source_id, tenant_id, external_id, event_type, payload)
  values ('2026-03-01 10:00Z', 2, 'globex', 'w9', 'x.y', '{}')$$, '42501', null, 'it cannot write another tenant''s row');
select lives_ok($$set hookline.tenant = 'globex'$$, 'any session may set a custom setting');
select is((select array_agg(distinct tenant_id) from hookline.events), array['acme'], 'which changes nothing');
reset role;

select hookline.grant_tenant('tap_ops', 'globex');
set local role tap_ops;
select is((select array_agg(distinct tenant_id) from hookline.event_log), array['globex'], 'an operator''s view shows its tenant');
select throws_ok('select count(*) from hookline.events', '42501', null, 'and the table is closed to it');
reset role;

select * from finish();
rollback;
