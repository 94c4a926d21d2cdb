begin;
select plan(2);

insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme');
select hookline.add_endpoint('acme', 'crm', 'http://127.0.0.1:9/crm');

-- A pattern longer than an index entry can hold failed on the unique index (54000, "index row
-- size exceeds btree version 4 maximum") instead of saying what is wrong.
select throws_ok(
  $$select hookline.add_subscription('crm', 'whatsapp.' || (select string_agg(md5(i::text), '') from generate_series(1, 100) i))$$,
  'HL022', 'an event type pattern is at most 1000 characters, not 3209', 'a pattern over 1,000 characters is HL022, saying so'
);
select lives_ok(
  $$select hookline.add_subscription('crm', 'a.' || repeat('b', 998))$$,
  'a pattern of 1,000 characters is accepted'
);

select * from finish();
rollback;
