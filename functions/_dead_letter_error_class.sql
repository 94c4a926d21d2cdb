create or replace function hookline._dead_letter_error_class(state text, last_status_code integer, reason text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when _dead_letter_error_class.state = 'discarded' then 'discarded'
    when _dead_letter_error_class.last_status_code is not null then 'http_' || _dead_letter_error_class.last_status_code
    when _dead_letter_error_class.reason like 'refused:%' then 'refused'
    else coalesce(pg_catalog.substring(_dead_letter_error_class.reason, 'last: ([a-z_]+)$'), 'unknown')
  end
$$;

comment on function hookline._dead_letter_error_class(text, integer, text) is
  'Internal. The error class of a dead letter (http_<status>, refused, timeout, connect, network, discarded, unknown): the rule of the column error_class of hookline.dead_letter_queue, for dead_letter_page''s filter (a test checks both agree). Errors: none of its own.';

-- Owner only (admin and internal): no grants.
revoke all on function hookline._dead_letter_error_class(text, integer, text) from public;
