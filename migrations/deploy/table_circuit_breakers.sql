-- Deploy hookline:table_circuit_breakers to pg
-- requires: schema_hookline

BEGIN;

-- A circuit breaker per target ('endpoint:<endpoint_id>' or 'sender:<phone_number_id>'),
-- created on the target's first recorded result. Claim asks it how much may be sent; complete
-- feeds it. Targets are text so one table serves both kinds without a foreign key on the hot
-- path; a breaker of a removed target is inert.
create table hookline.circuit_breakers (
  target text primary key,
  state text not null default 'closed',
  is_forced boolean not null default false,
  window_started_at timestamptz not null,
  window_requests integer not null default 0,
  window_failures integer not null default 0,
  consecutive_failures integer not null default 0,
  half_open_successes integer not null default 0,
  open_until timestamptz,
  cooldown interval,
  failure_rate double precision not null default 0.5,
  min_requests integer not null default 20,
  window_length interval not null default interval '60 seconds',
  max_consecutive_failures integer not null default 10,
  base_cooldown interval not null default interval '30 seconds',
  max_cooldown interval not null default interval '10 minutes',
  probes integer not null default 2,
  changed_at timestamptz not null,
  reason text,
  constraint circuit_breakers_target_format check (target ~ '^(endpoint|sender):[0-9]+$'),
  constraint circuit_breakers_state_known check (state in ('closed', 'open', 'half_open')),
  constraint circuit_breakers_open_until_iff_open check ((open_until is not null) = (state = 'open')),
  constraint circuit_breakers_forced_only_open_or_closed check (not is_forced or state <> 'half_open'),
  constraint circuit_breakers_counts_nonnegative check (
    window_requests >= 0 and window_failures between 0 and window_requests
    and consecutive_failures >= 0 and half_open_successes >= 0
  ),
  constraint circuit_breakers_settings_valid check (
    failure_rate > 0 and failure_rate <= 1 and min_requests >= 1 and window_length > interval '0'
    and max_consecutive_failures >= 1 and base_cooldown > interval '0' and max_cooldown >= base_cooldown
    and probes >= 1
  )
);

comment on table hookline.circuit_breakers is 'One circuit breaker per send target (endpoint or WhatsApp business number): its state, the counts of the current window and its settings.';
comment on column hookline.circuit_breakers.target is 'endpoint:<endpoint_id> or sender:<phone_number_id>.';
comment on column hookline.circuit_breakers.state is 'closed (everything flows), open (nothing is claimed), half_open (at most probes requests in flight).';
comment on column hookline.circuit_breakers.is_forced is 'Set by an operator: the state stays until the operator releases it (set_breaker ... auto).';
comment on column hookline.circuit_breakers.window_started_at is 'Start of the current counting window (closed state).';
comment on column hookline.circuit_breakers.window_requests is 'Results recorded in the current window.';
comment on column hookline.circuit_breakers.window_failures is 'Failures among them.';
comment on column hookline.circuit_breakers.consecutive_failures is 'Failures in a row, across windows.';
comment on column hookline.circuit_breakers.half_open_successes is 'Successful probes since the breaker became half-open.';
comment on column hookline.circuit_breakers.open_until is 'When an open breaker becomes half-open; set iff open.';
comment on column hookline.circuit_breakers.cooldown is 'The current open period; doubled (up to max_cooldown) each time a probe fails.';
comment on column hookline.circuit_breakers.failure_rate is 'Opens when failures / requests reaches this within a window of at least min_requests.';
comment on column hookline.circuit_breakers.min_requests is 'Fewest results in a window before the failure rate counts.';
comment on column hookline.circuit_breakers.window_length is 'Length of a counting window.';
comment on column hookline.circuit_breakers.max_consecutive_failures is 'Opens after this many failures in a row.';
comment on column hookline.circuit_breakers.base_cooldown is 'First open period.';
comment on column hookline.circuit_breakers.max_cooldown is 'Longest open period.';
comment on column hookline.circuit_breakers.probes is 'Half-open: requests in flight at most, and successes needed to close.';
comment on column hookline.circuit_breakers.changed_at is 'When the state last changed.';
comment on column hookline.circuit_breakers.reason is 'Why the state last changed.';

-- Every transition, automatic or by an operator, for operators to read.
create table hookline.breaker_transitions (
  transition_id bigint generated always as identity primary key,
  target text not null references hookline.circuit_breakers (target) on delete cascade,
  happened_at timestamptz not null,
  from_state text not null,
  to_state text not null,
  actor text not null,
  reason text not null
);

create index breaker_transitions_target_idx on hookline.breaker_transitions (target, happened_at);

comment on table hookline.breaker_transitions is 'Every state change of a circuit breaker, with who made it (hookline for automatic ones, the database user for an operator''s).';
comment on column hookline.breaker_transitions.transition_id is 'Surrogate key.';
comment on column hookline.breaker_transitions.target is 'The breaker.';
comment on column hookline.breaker_transitions.happened_at is 'When.';
comment on column hookline.breaker_transitions.from_state is 'State before.';
comment on column hookline.breaker_transitions.to_state is 'State after.';
comment on column hookline.breaker_transitions.actor is 'hookline (automatic) or the session user of an operator''s call.';
comment on column hookline.breaker_transitions.reason is 'Why.';

COMMIT;
