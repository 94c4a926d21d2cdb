-- Deploy hookline:table_dead_letters_error_class to pg
-- requires: view_operator
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- Why a delivery died, as a class that hookline.complete stores (one home for the rule),
-- instead of re-parsing the reason text in the view.
alter table hookline.dead_letters add column error_class text;
comment on column hookline.dead_letters.error_class is 'The last attempt''s class: http_<status>, or timeout, connect, network, refused when no status came; null for discarded deliveries (and for dead letters older than this column whose reason names no class).';

-- Dead letters from before this change: their class as the view used to read it.
update hookline.dead_letters
set error_class = case
    when last_status_code is not null then 'http_' || last_status_code
    when reason like 'refused:%' then 'refused'
    else substring(reason from 'last: ([a-z_]+)$')
  end
where state = 'dead';

create or replace view hookline.dead_letter_queue with (security_barrier) as
select l.delivery_id, l.tenant_id, e.name as endpoint, ev.event_type, l.state::text as state,
  case when l.state = 'discarded' then 'discarded' else coalesce(l.error_class, 'unknown') end as error_class,
  hookline.mask_text(l.reason) as reason, l.last_status_code, l.attempt_count, l.generation,
  l.created_at, l.finished_at, l.event_id, l.event_received_at
from hookline.dead_letters l
join hookline.endpoints e on e.endpoint_id = l.endpoint_id
left join lateral (
  select x.event_type from hookline.events x where x.event_id = l.event_id and x.received_at = l.event_received_at
) ev on true
where (select hookline._sees_all_tenants()) or l.tenant_id = any ((select hookline._mapped_tenants())::text[]);

insert into hookline.schema_changes (change) values ('table_dead_letters_error_class');

COMMIT;
