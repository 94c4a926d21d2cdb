-- Purpose: outbound messages per sending number and state, with the oldest live one and the
--          commonest recent failure codes (no recipients, no text).
-- Variables: none.
-- Example: psql "$HOOKLINE_DSN" -f sql/outbox_overview.sql
select o.phone_number_id, o.state, count(*) as messages,
  min(o.created_at) filter (where o.next_attempt_at is not null) as oldest_live
from hookline.outbox_messages o
group by o.phone_number_id, o.state
order by o.phone_number_id, o.state;

select o.phone_number_id, o.last_error_code, count(*) as messages
from hookline.outbox_messages o
where o.last_error_code is not null and o.created_at > now() - interval '1 day'
group by o.phone_number_id, o.last_error_code
order by messages desc
limit 20;
