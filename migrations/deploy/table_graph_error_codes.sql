-- Deploy hookline:table_graph_error_codes to pg
-- requires: schema_hookline

BEGIN;

-- How a Graph API error.code is handled: the one table both complete_messages (send answers)
-- and failed status webhooks read. A code matches the narrowest range that contains it; a code
-- in no range is "unknown" (transient for at most three attempts). Sources: Meta's error-code
-- page and Graph "Handling Errors" (docs/outbound.md).
create table hookline.graph_error_codes (
  code_from integer primary key,
  code_to integer not null,
  error_class text not null,
  retry_delay interval,
  description text not null,
  constraint graph_error_codes_range_ordered check (code_to >= code_from),
  constraint graph_error_codes_class_known check (error_class in (
    'transient', 'sender_throttle', 'recipient_throttle', 'maintenance', 'account',
    'permanent_message', 'permanent_recipient'
  )),
  constraint graph_error_codes_delay_positive check (retry_delay is null or retry_delay > interval '0')
);

comment on table hookline.graph_error_codes is 'Classification of Graph API error codes (error.code, never the HTTP status): the narrowest range containing a code decides its class.';
comment on column hookline.graph_error_codes.code_from is 'First code of the range.';
comment on column hookline.graph_error_codes.code_to is 'Last code of the range (code_from for a single code).';
comment on column hookline.graph_error_codes.error_class is 'transient, sender_throttle, recipient_throttle, maintenance, account, permanent_message or permanent_recipient.';
comment on column hookline.graph_error_codes.retry_delay is 'Wait before the next send for throttling and maintenance classes (a Retry-After header wins).';
comment on column hookline.graph_error_codes.description is 'What the code means.';

insert into hookline.graph_error_codes (code_from, code_to, error_class, retry_delay, description) values
  (1, 1, 'transient', null, 'API unknown, possible server error'),
  (2, 2, 'transient', null, 'temporary downtime or overload'),
  (131000, 131000, 'transient', null, 'something went wrong, try again'),
  (131016, 131016, 'transient', null, 'service temporarily unavailable'),
  (133004, 133004, 'transient', null, 'server temporarily unavailable'),
  (4, 4, 'sender_throttle', interval '60 seconds', 'application call rate limit'),
  (17, 17, 'sender_throttle', interval '60 seconds', 'user request limit'),
  (341, 341, 'sender_throttle', interval '60 seconds', 'application limit'),
  (80007, 80007, 'sender_throttle', interval '60 seconds', 'WhatsApp Business Account rate limit'),
  (130429, 130429, 'sender_throttle', interval '1 second', 'per-number throughput reached'),
  (131056, 131056, 'recipient_throttle', null, 'pair rate limit: too many messages to this recipient'),
  (131057, 131057, 'maintenance', interval '2 minutes', 'account in maintenance (e.g. a throughput upgrade)'),
  (2494100, 2494100, 'maintenance', interval '2 minutes', 'maintenance mode'),
  (0, 0, 'account', null, 'authentication failed'),
  (3, 3, 'account', null, 'capability or permission missing'),
  (10, 10, 'account', null, 'permission denied'),
  (190, 190, 'account', null, 'access token expired or invalid'),
  (200, 299, 'account', null, 'permission denied'),
  (33, 33, 'account', null, 'phone number deleted'),
  (368, 368, 'account', null, 'temporarily blocked for policy violations'),
  (130497, 130497, 'account', null, 'business account restricted from this country'),
  (131005, 131005, 'account', null, 'access denied'),
  (131031, 131031, 'account', null, 'business account locked'),
  (131037, 131037, 'account', null, 'display name not approved'),
  (131042, 131042, 'account', null, 'payment problem'),
  (131045, 131045, 'account', null, 'phone number not registered'),
  (131063, 131063, 'account', null, 'marketing templates disabled on the Cloud API'),
  (100, 100, 'permanent_message', null, 'invalid parameter'),
  (131008, 131008, 'permanent_message', null, 'required parameter missing'),
  (131009, 131009, 'permanent_message', null, 'parameter value invalid'),
  (131021, 131021, 'permanent_message', null, 'sender and recipient are the same'),
  (131048, 131048, 'permanent_message', null, 'spam rate limit (quality restriction)'),
  (131051, 131051, 'permanent_message', null, 'unsupported message type'),
  (131053, 131053, 'permanent_message', null, 'media upload error'),
  (131064, 131064, 'permanent_message', null, 'template classification violation'),
  (132000, 132016, 'permanent_message', null, 'template problem (parameters, name, language, paused, disabled)'),
  (132068, 132069, 'permanent_message', null, 'flow blocked or throttled'),
  (135000, 135000, 'permanent_message', null, 'generic user error'),
  (130403, 130403, 'permanent_recipient', null, 'the business blocked the user'),
  (130472, 130472, 'permanent_recipient', null, 'recipient in an experiment group'),
  (131026, 131026, 'permanent_recipient', null, 'message undeliverable to this recipient'),
  (131047, 131047, 'permanent_recipient', null, 're-engagement: more than 24 h since the user last wrote; send a template'),
  (131049, 131049, 'permanent_recipient', null, 'per-user marketing limit; wait at least 24 hours'),
  (131050, 131050, 'permanent_recipient', null, 'the user stopped marketing messages'),
  (131062, 131062, 'permanent_recipient', null, 'business-scoped user id recipient not supported'),
  (137000, 137000, 'permanent_recipient', null, 'identity key mismatch');

COMMIT;
