create or replace function hookline._id_key(id text, longest integer default 2048)
returns text
language sql
stable
parallel safe
-- No SET clause, so the planner inlines it where it is called (a SET would forbid that); every
-- name is schema-qualified instead. Stable, not immutable: convert_to is stable, and a
-- function declared immutable around a stable one is never inlined (it ran as a call of its
-- own, planned on every call).
as $$
  select case when pg_catalog.octet_length(_id_key.id) > _id_key.longest
              then 'sha256:' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(_id_key.id, 'UTF8')), 'hex')
              else _id_key.id end
$$;

comment on function hookline._id_key(text, integer) is
  'Inlinable (no SET clause), private: an identifier as hookline keys it: as given up to longest bytes, else sha256:<its SHA-256 digest in hex> (71 bytes). A unique index entry holds at most about 2.7 kB, and an id longer than that (an external id, a Standard Webhooks webhook-id, a wamid) failed the statement storing it, and with it the whole batch or group. longest defaults to 2048, the bound of every event key and wamid, one value for the functions that store a wamid and those that look it up (any id up to 2,048 bytes was stored as given before, so its key never changes); the ids of a WhatsApp notification use 512. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._id_key(text, integer) from public;
