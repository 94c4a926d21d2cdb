-- Verify hookline:table_secrets_sealed from pg

BEGIN;

select previous_signing_secret from hookline.endpoints where false;
select hookline._fingerprint('x');

ROLLBACK;
