begin;
select plan(7);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
insert into hookline.sources (tenant_id, name, kind, signing_secrets) values ('acme', 'wa', 'whatsapp', '{s}');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm', max_in_flight => 2);
select hookline.add_subscription('crm', 'whatsapp.message.*');
select throws_ok($$select hookline.add_endpoint('acme', 'x', 'ftp://host/x')$$, 'HL021', 'invalid URL ''ftp://host/x''', 'a non-http URL is HL021');
select throws_ok($$select hookline.add_endpoint('nobody', 'x', 'http://host/x')$$, 'HL021', 'unknown tenant ''nobody''', 'an unknown tenant is HL021');
select throws_ok($$select hookline.add_endpoint('acme', 'crm', 'https://host/x')$$, 'HL024', 'endpoint ''crm'' exists', 'a taken name is HL024');
select throws_ok($$select hookline.add_endpoint('acme', 'x', 'https://host/x', timeout_ms => 5)$$, 'HL021', 'invalid endpoint setting: endpoints_timeout_ms_range', 'an out-of-range timeout names its rule');
select throws_ok($$select hookline.add_endpoint('acme', 'Bad Name', 'https://host/x')$$, 'HL021', 'invalid endpoint setting: endpoints_name_format', 'a bad name names its rule');
select matches((select signing_secret from hookline.endpoints where name = 'crm'), '^whsec_[A-Za-z0-9+/=]{40,}$', 'a secret is generated when none is given');
select is((select retry_schedule from hookline.endpoints where name = 'crm'),
  array[interval '1 minute', interval '10 minutes', interval '1 hour', interval '4 hours', interval '12 hours'],
  'the default retry schedule: 1 min, 10 min, 1 h, 4 h, 12 h');

select * from finish();
rollback;
