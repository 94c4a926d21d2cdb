-- Revert hookline:table_dead_letters_error_class from pg

BEGIN;

set local lock_timeout = '5s';

-- The definition of view_operator.
create or replace view hookline.dead_letter_queue with (security_barrier) as
select l.delivery_id, l.tenant_id, e.name as endpoint, ev.event_type, l.state::text as state,
  case
    when l.state = 'discarded' then 'discarded'
    when l.last_status_code is not null then 'http_' || l.last_status_code
    when l.reason like 'refused:%' then 'refused'
    else coalesce(substring(l.reason from 'last: ([a-z_]+)$'), 'unknown')
  end as error_class,
  hookline.mask_text(l.reason) as reason, l.last_status_code, l.attempt_count, l.generation,
  l.created_at, l.finished_at, l.event_id, l.event_received_at
from hookline.dead_letters l
join hookline.endpoints e on e.endpoint_id = l.endpoint_id
left join lateral (
  select x.event_type from hookline.events x where x.event_id = l.event_id and x.received_at = l.event_received_at
) ev on true
where (select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[]);

alter table hookline.dead_letters drop column error_class;

delete from hookline.schema_changes where change = 'table_dead_letters_error_class';

COMMIT;
