-- Purpose: outbound messages per sending number and state, with the oldest live one and the
--          commonest recent failure codes (no recipients, no text).
-- Variables: none.
-- Example: psql "$HOOKLINE_DSN" -f sql/outbox_overview.sql
-- Reads: hookline.outbox_messages counted (through hookline.outbox_totals: only your tenants;
--        nothing masked).
select o.phone_number_id, o.state, sum(o.messages) as messages, min(o.oldest_live) as oldest_live
from hookline.outbox_totals() o
group by o.phone_number_id, o.state
order by o.phone_number_id, o.state;

select o.phone_number_id, o.last_error_code, sum(o.recent) as messages
from hookline.outbox_totals(recent_since => now() - interval '1 day') o
where o.last_error_code is not null and o.recent > 0
group by o.phone_number_id, o.last_error_code
order by messages desc
limit 20;
