create or replace function hookline.source_credentials(source text)
returns table (kind text, signing_secrets text[], verify_token text, max_body_bytes integer)
language plpgsql
stable
security definer
set search_path = ''
-- An index read only: the ingress calls it per source every few seconds, and a plan made while
-- the sources fitted a page read every source sequentially on each call once there were
-- thousands.
set enable_seqscan = off
set enable_bitmapscan = off
-- No JIT: a scan the settings above disable costs 10^10, past jit_above_cost, and a plan with
-- one would be compiled on every call (0.5 s for a five-row read through an operator view).
set jit = off
as $$
begin
  -- PL/pgSQL, not SQL: PostgreSQL 15 plans the body of a SQL function that is not inlined
  -- (set search_path, security definer) on every call; PL/pgSQL keeps its plan per session
  -- (docs/performance.md, "Plans that stay good").
  return query
  select s.kind, s.signing_secrets, s.verify_token, s.max_body_bytes
  from hookline.sources s
  where s.name = source_credentials.source;
end
$$;

comment on function hookline.source_credentials(text) is
  'What the ingress needs to verify a request for a source: its kind, signing secrets (one, or two while rotating), verify token and body size limit. No row for an unknown source. For the ingress only: it returns secrets. Errors: none.';

-- SECURITY DEFINER: the ingress reads a source's secrets only through this function.
revoke all on function hookline.source_credentials(text) from public;
grant execute on function hookline.source_credentials(text) to hookline_ingest;
