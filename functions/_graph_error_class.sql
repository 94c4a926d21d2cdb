create or replace function hookline._graph_error_class(code integer, is_transient boolean)
returns text
language sql
stable
set search_path = ''
as $$
  select coalesce(
    (select g.error_class from hookline.graph_error_codes g
     where _graph_error_class.code between g.code_from and g.code_to
     order by g.code_to - g.code_from
     limit 1),
    case when _graph_error_class.is_transient then 'transient' else 'unknown' end
  )
$$;

comment on function hookline._graph_error_class(integer, boolean) is
  'Private. The class of a Graph API error.code from hookline.graph_error_codes (the narrowest range); a code in no range is transient when the error says is_transient, else unknown. Errors: none.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._graph_error_class(integer,boolean) from public;
