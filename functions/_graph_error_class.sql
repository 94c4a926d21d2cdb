create or replace function hookline._graph_error_class(code integer, is_transient boolean)
returns text
-- PL/pgSQL, not SQL: complete_messages calls it for each result with a Graph error code, and
-- PostgreSQL 15 plans a SQL function's body again on every call of the calling statement
-- (0.3 ms); PL/pgSQL keeps the plan for the session (docs/performance.md, "Plans that stay
-- good"). Its callers run with generic plans, and so does this.
language plpgsql
stable
set search_path = ''
as $$
begin
  return coalesce(
    (select g.error_class from hookline.graph_error_codes g
     where _graph_error_class.code between g.code_from and g.code_to
     order by g.code_to - g.code_from
     limit 1),
    case when _graph_error_class.is_transient then 'transient' else 'unknown' end
  );
end
$$;

comment on function hookline._graph_error_class(integer, boolean) is
  'Private. The class of a Graph API error.code from hookline.graph_error_codes (the narrowest range); a code in no range is transient when the error says is_transient, else unknown. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._graph_error_class(integer,boolean) from public;
