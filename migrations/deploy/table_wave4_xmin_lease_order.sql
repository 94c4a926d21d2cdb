-- Deploy hookline:table_wave4_xmin_lease_order to pg
-- requires: table_deliveries_hot_path
-- requires: table_schema_changes

BEGIN;

set local lock_timeout = '5s';

-- claim counts an endpoint's unexpired leases before it fills the endpoint's room. Over the
-- in-flight index by expiry, that count walks every lease taken in the last lease period,
-- finished ones included while a long transaction holds the xmin horizon back (their entries
-- cannot be removed). Claims of one endpoint take turns on its row lock, so a number drawn
-- from this sequence after that lock orders an endpoint's leases in claim order: a claim that
-- knows the oldest lease that was live at its session's last count (hookline.claim, "the
-- lease cursor", docs/delivery.md) counts from there, over the leases taken since, not over
-- the whole lease period. No cache: values must follow the order in which claims draw them,
-- across sessions.
create sequence hookline.deliveries_lease_order_seq as bigint;

comment on sequence hookline.deliveries_lease_order_seq is 'Lease order: one value per claim, drawn after the claim locked its endpoints, so an endpoint''s leases are numbered in claim order.';

-- A constant default: no table rewrite, the lock is held for a catalog change only. Rows
-- leased before this change keep 0, the oldest order: a session's first count (by expiry)
-- sees them, and its cursor stays at 0 while one of them is unexpired.
alter table hookline.deliveries add column lease_order bigint not null default 0;

comment on column hookline.deliveries.lease_order is 'For in_flight: the claim that took the lease, in claim order (hookline.deliveries_lease_order_seq); left as it was in other states.';

-- The leases of an endpoint in claim order. Holds the leased rows only, like
-- deliveries_in_flight_idx; its predicate names the lease token (set exactly while in flight,
-- deliveries_lease_iff_in_flight), not the state, so that a query chooses between the two by
-- what it says: claim's count from its hint names the token, its count by expiry the state.
-- A plain build holds off writes to deliveries for its length (it
-- reads the table once: about a second per million queued rows); CONCURRENTLY cannot run inside
-- the change's transaction. Deploy in a quiet minute.
-- squawk-ignore require-concurrent-index-creation
create index deliveries_lease_order_idx on hookline.deliveries (endpoint_id, lease_order)
  where lease_token is not null;

comment on index hookline.deliveries_lease_order_idx is 'Leases per endpoint in claim order: claim counts an endpoint''s unexpired leases from the oldest one its session last saw live.';

insert into hookline.schema_changes (change) values ('table_wave4_xmin_lease_order');

COMMIT;
