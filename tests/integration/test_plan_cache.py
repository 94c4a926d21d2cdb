"""Plans that stay good after the fifth call: the hot functions' inner statements are planned a
few times per session, not on every call (issue 11).

PL/pgSQL caches a plan for each statement of a function per session. For a statement with
parameters the plan cache makes a custom plan (for these parameter values) for the first five
executions, then builds the generic plan and keeps it if it does not look costlier than the
custom plans did. A statement whose custom plans always look cheaper (an array's length is
known to them, unnest's row estimate; a parameter that looks selective) is planned again on
every call for the whole life of the session: 0.05 to 0.35 ms of planning per statement per
call, more than the statement's work on a small batch. `set plan_cache_mode =
force_generic_plan` on the function stops that (docs/performance.md, "Plans that stay good").

Each case calls one function 40 times in one session, with realistic arguments (batches of
different sizes, as the runner, the ingress and the jobs send them), and reads
pg_stat_statements (`track = all`, `track_planning = on`; only the function's calls are
tracked, the set-up in between is not). A statement that settled on a plan shows about six
plans (five custom, one generic) plus one per invalidation (an autovacuum's analyze, a new
partition); one re-planned on every call shows as many plans as calls. A FAILURE names the
function and its statement: that statement is planned again on (nearly) every call of a
session; give the function `set plan_cache_mode = force_generic_plan` after checking that its
generic plan is good at 10k and 1M rows (EXPLAIN of the statement with `plan_cache_mode =
force_generic_plan` and parameters, docs/performance.md says how), or rewrite the statement.

A plan is also kept with the statistics of its moment until an analyze invalidates it, and the
queue's tables are small for most of their life. The second test makes each function's plans
in its first seven calls on the session's small tables, then adds 20,000 rows each to
`deliveries`, the outbox and the events, 20,000 sent messages of the session's own number,
10,000 numbers (senders) and 3,000 paused endpoints, each with a breaker, a waiting delivery
and a dead letter, and 3,000 tenants each with a source,
with no analyze since (autovacuum off), or analysed while the rows were uncommitted
(statistics that say the tables are empty), or with the plans made after a vacuum of the empty
tables (a drained queue: statistics of 0 pages, so the planner sizes each table by its pages
at planning time, one or two, and a full read of a small index can look cheaper than probing
it by key), and reads the plans of the twelve calls after
(auto_explain notices) and the rows each call fetched from the grown tables. A FAILURE names the
function and the scans: its plan reads a grown table whole (a sequential or bitmap scan, or an
index scan without a condition on the index's first column), or one call fetched more than
MOST_FETCHED rows of a table (a read by a column that leads an index but does not narrow it: a
number's or an endpoint's whole history; or a read of every number, breaker, endpoint or
source that stops at its first match), or a plan node processed more than MOST_PROCESSED
rows in one call (a table read once and gone over again in memory for every row of another),
counting the rows its filters removed, or its filters removed more than MOST_FETCHED (a read
that a filter, not an index condition, narrows). A function whose reads are by key or by
index range sets `enable_seqscan` and `enable_bitmapscan` off, and names in each read only what
its index can serve (docs/performance.md, "Plans that stay good").
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.conftest import Server, require
from tests.helpers import IndexKeys, plans_as_notices

CALLS = 40
# Batch sizes cycled through the calls: the runner's claims and the ingress's groups vary.
SIZES = [1, 7, 32, 3, 16, 2, 25, 5]
# Plans per statement over CALLS calls: a settled statement has about 6 (+1 per invalidation).
MAX_PLANS = CALLS // 2
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass
class Session:
    """One connection: `tracked` calls count in pg_stat_statements, `quiet` ones do not."""

    conn: psycopg.Connection
    rounds: int = CALLS  # calls of the function a workload makes

    def quiet(self, sql: str, params: object = None) -> list[tuple]:
        cur = self.conn.execute(sql, params)
        return cur.fetchall() if cur.description else []

    def tracked(self, sql: str, params: object = None) -> list[tuple]:
        self.conn.execute("set pg_stat_statements.track = 'all'")
        try:
            return self.quiet(sql, params)
        finally:
            self.conn.execute("set pg_stat_statements.track = 'none'")


def whatsapp_body(tag: str, messages: int, *, statuses: bool = False) -> str:
    """A WhatsApp Business Account notification with `messages` text messages, or as many
    status updates of sent messages (hookline._apply_message_status looks each one up)."""
    value: dict[str, object] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "1065"},
        "contacts": [{"profile": {"name": "Zoe"}, "wa_id": "16505551234"}],
    }
    if statuses:
        value["statuses"] = [
            {"id": f"wamid.{tag}.{i}", "status": "delivered", "timestamp": "1749416501",
             "recipient_id": "16505551234"}
            for i in range(messages)
        ]  # fmt: skip
    else:
        value["messages"] = [
            {"from": "16505551234", "id": f"wamid.{tag}.{i}", "timestamp": "1749416384",
             "type": "text", "text": {"body": f"hello {i}"}}
            for i in range(messages)
        ]  # fmt: skip
    return json.dumps({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    })  # fmt: skip


def sizes(s: Session) -> Iterator[int]:
    return itertools.islice(itertools.cycle(SIZES), s.rounds)


def ingest_quietly(s: Session, count: int, tag: str) -> None:
    s.quiet(
        "select count(*) from generate_series(1, %s::int) i, "
        "lateral hookline.ingest('acme-wa', %s || '-' || i, 'test.plan', '{\"n\": 1}')",
        (count, tag),
    )


def results(rows: list[tuple], statuses: Iterator[int]) -> Jsonb:
    """complete's argument as the runner shapes it, from claim's rows."""
    return Jsonb([
        {"delivery_id": r[0], "lease_token": str(r[1]), "runner": "r1", "status_code": next(statuses),
         "retry_after_s": None, "response_excerpt": "", "duration_ms": 3}
        for r in rows
    ])  # fmt: skip


CLAIM = "select delivery_id, lease_token from hookline.claim('r1', %s, '30 seconds')"
COMPLETE = "select * from hookline.complete(%s)"


def claim_and_complete(s: Session, tracked: str) -> None:
    """claim then complete (mostly 2xx, some 5xx and 429 for retries and the breaker)."""
    statuses = itertools.cycle([200, 200, 503, 200, 429, 200, 200, 500])
    claimed = 0
    for n, k in enumerate(sizes(s)):
        ingest_quietly(s, k, f"cc{n}")
        claim = s.tracked if tracked == "claim" else s.quiet
        rows = claim(CLAIM, (k,))
        claimed += len(rows)
        complete = s.tracked if tracked == "complete" else s.quiet
        complete(COMPLETE, (results(rows, statuses),))
    assert claimed >= sum(sizes(s)) // 2, f"only {claimed} deliveries claimed: no real batches"


def release_leases(s: Session) -> None:
    for n, k in enumerate(sizes(s)):
        ingest_quietly(s, k, f"rl{n}")
        rows = s.quiet(CLAIM, (k,))
        leases = Jsonb([{"delivery_id": r[0], "lease_token": str(r[1])} for r in rows])
        s.tracked("select hookline.release('r1', %s)", (leases,))


def next_due(s: Session) -> None:
    for n, k in enumerate(sizes(s)):
        ingest_quietly(s, k, f"nd{n}")
        s.tracked("select hookline.next_due()")
        s.quiet(CLAIM, (1,))


def ingest(s: Session) -> None:
    for n in range(s.rounds):
        s.tracked(
            "select * from hookline.ingest(source => 'acme-wa', external_id => %s, "
            "event_type => 'test.plan', payload => %s, occurred_at => %s)",
            (f"in{n}", Jsonb({"n": n}), T0),
        )


def receive(s: Session) -> None:
    for n, k in enumerate(sizes(s)):
        body = whatsapp_body(f"rc{n}", k)
        s.tracked(
            "select * from hookline.receive(source => 'acme-wa', body => %s::jsonb, raw => %s, "
            "headers => '{}')",
            (body, body.encode()),
        )


def receive_many(s: Session) -> None:
    for n, k in enumerate(sizes(s)):
        bodies = [whatsapp_body(f"rm{n}.{i}", 1 + i % 3, statuses=i % 2 == 1) for i in range(k)]
        s.tracked(
            "select * from hookline.receive_many(sources => %s::text[], bodies => %s::text[], "
            "raws => %s::bytea[], headers => %s::jsonb[])",
            (["acme-wa"] * k, bodies, [b.encode() for b in bodies], [Jsonb({})] * k),
        )


def whatsapp_events(s: Session) -> None:
    for n, k in enumerate(sizes(s)):
        s.tracked("select count(*) from hookline.whatsapp_events(%s::jsonb)",
                  (whatsapp_body(f"we{n}", k),))  # fmt: skip


def send_quietly(s: Session, count: int, tag: str, first: int, now: datetime) -> None:
    """count messages to new recipients (numbers first + 1 ...: the pair limit defers none)."""
    s.quiet(
        "select hookline.send_message('acme-wa', '+1650' || lpad((%s::int + i)::text, 7, '0'), "
        '\'{"type": "text", "text": {"body": "hi"}}\', %s || \'-\' || i, now => %s) '
        "from generate_series(1, %s::int) i",
        (first, tag, now, count),
    )


def send_message(s: Session) -> None:
    for n in range(s.rounds):
        s.tracked(
            "select hookline.send_message(source => 'acme-wa', \"to\" => %s, message => %s, "
            "idempotency_key => %s)",
            (f"+1650555{n:04d}", Jsonb({"type": "text", "text": {"body": "hi"}}), f"sm{n}"),
        )


CLAIM_MESSAGES = (
    "select message_id, lease_token from hookline.claim_messages('r1', %s, '30 seconds', %s)"
)


def messages(s: Session, tracked: str) -> None:
    """send, claim_messages, then complete_messages or release_messages; each call one second
    later on the sender's clock, so the per-second limit has room."""
    answers = itertools.cycle([
        {"status_code": 200}, {"status_code": 503}, {"error_class": "timeout"},
        {"status_code": 400, "error_code": 131026},
        # A pair-limit answer: complete_messages also locks the recipient's queued messages.
        {"status_code": 400, "error_code": 131056},
        # A maintenance answer: the number waits a second (its sender updated).
        {"status_code": 503, "error_code": 131057, "retry_after_s": 1},
    ])  # fmt: skip
    claimed = 0
    for n, k in enumerate(sizes(s)):
        now = T0 + timedelta(seconds=n)
        send_quietly(s, k, f"{tracked}{n}", n * 100, now)
        claim = s.tracked if tracked == "claim_messages" else s.quiet
        rows = claim(CLAIM_MESSAGES, (k, now))
        claimed += len(rows)
        if tracked == "release_messages":
            leases = Jsonb([{"message_id": r[0], "lease_token": str(r[1])} for r in rows])
            s.tracked("select hookline.release_messages('r1', %s, %s)", (leases, now))
            continue
        done = Jsonb([
            {"message_id": r[0], "lease_token": str(r[1]), "wamid": f"wamid.out.{r[0]}"} | next(answers)
            for r in rows
        ])  # fmt: skip
        complete = s.tracked if tracked == "complete_messages" else s.quiet
        complete("select * from hookline.complete_messages(%s, %s)", (done, now))
        if tracked == "next_message_due":
            s.tracked("select hookline.next_message_due(%s)", (now,))
    assert claimed >= sum(sizes(s)) // 2, f"only {claimed} messages claimed: no real batches"


def failed_statuses(s: Session) -> None:
    """receive_many of status groups about sent messages: delivered, and failed with a
    pair-limit code (131056), for which the group also locks the recipient's queued messages.
    Each group's messages are sent, claimed and answered first, on the sender's clock."""
    statuses = itertools.cycle(["delivered", "failed", "read", "failed"])
    for n, k in enumerate(sizes(s)):
        now = T0 + timedelta(seconds=n)
        send_quietly(s, k, f"fs{n}", n * 100, now)
        rows = s.quiet(CLAIM_MESSAGES, (k, now))
        done = Jsonb([{"message_id": r[0], "lease_token": str(r[1]), "status_code": 200,
                       "wamid": f"wamid.fs.{r[0]}"} for r in rows])  # fmt: skip
        s.quiet("select * from hookline.complete_messages(%s, %s)", (done, now))
        bodies = []
        for r in rows:
            status = next(statuses)
            item = {"id": f"wamid.fs.{r[0]}", "status": status, "timestamp": "1749416501",
                    "recipient_id": "16505551234"}  # fmt: skip
            if status == "failed":
                item["errors"] = [{"code": 131056, "title": "pair rate limit"}]
            bodies.append(json.dumps({
                "object": "whatsapp_business_account",
                "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550783881", "phone_number_id": "1065"},
                    "statuses": [item]}}]}],
            }))  # fmt: skip
        s.tracked(
            "select * from hookline.receive_many(sources => %s::text[], bodies => %s::text[], "
            "raws => %s::bytea[], headers => %s::jsonb[], received_at => %s)",
            (["acme-wa"] * len(bodies), bodies, [b.encode() for b in bodies], [Jsonb({})] * len(bodies), now),
        )  # fmt: skip


def job(name: str) -> Callable[[Session], None]:
    """A scheduled job's function, as if every minute: each run a minute later than the last
    (from now), so the leases claimed between runs have expired and are rescued, and the
    deliveries ingested between runs are due."""

    def run(s: Session) -> None:
        done = 0
        for n, k in enumerate(sizes(s)):
            ingest_quietly(s, k, f"{name}{n}")
            s.quiet(CLAIM, (k,))
            answer = s.tracked(
                f"select hookline.{name}(now() + %s * interval '1 minute')", (n + 1,)
            )
            done += answer[0][0] not in ("rescued 0 expired leases", "nothing due")
        assert done >= s.rounds // 2, (
            f"{name} found no work in {s.rounds - done} of {s.rounds} runs"
        )

    return run


def reads(sql: str) -> Callable[[Session], None]:
    """A read the runner, the ingress or a scrape makes again and again on one connection:
    the gauges (each scrape, and evaluate_alerts each minute), job health (the runner's job
    loop) and a source's credentials (the ingress, per source every 5 s). Between calls a
    snapshot of a new minute and a job run (not tracked), so each call reads fresh rows."""

    def run(s: Session) -> None:
        for n in range(s.rounds):
            s.quiet("select hookline.snapshot_stats(now() + %s * interval '1 minute')", (n,))
            s.quiet("select hookline.run_job('rescue_leases')")
            assert s.tracked(sql) is not None

    return run


# Each hot function, called as its caller calls it; _ingest, _whatsapp_split (both paths),
# _wake and _breaker_results run inside ingest, receive, receive_many and complete.
WORKLOADS: dict[str, Callable[[Session], None]] = {
    "claim": lambda s: claim_and_complete(s, "claim"),
    "complete": lambda s: claim_and_complete(s, "complete"),
    "release": release_leases,
    "next_due": next_due,
    "ingest": ingest,
    "receive": receive,
    "receive_many": receive_many,
    "receive_many_statuses": failed_statuses,
    "whatsapp_events": whatsapp_events,
    "send_message": send_message,
    "claim_messages": lambda s: messages(s, "claim_messages"),
    "complete_messages": lambda s: messages(s, "complete_messages"),
    "release_messages": lambda s: messages(s, "release_messages"),
    "next_message_due": lambda s: messages(s, "next_message_due"),
    "rescue_leases": job("rescue_leases"),
    "wake_due_retries": job("wake_due_retries"),
    "snapshot_stats": job("snapshot_stats"),
    "evaluate_alerts": job("evaluate_alerts"),
    "metric_gauges": reads("select * from hookline.metric_gauges()"),
    "stale_jobs": reads("select * from hookline.stale_jobs()"),
    "job_status": reads("select * from hookline.job_status()"),
    "source_credentials": reads("select * from hookline.source_credentials('acme-wa')"),
}
# The reads above were SQL-language functions, whose bodies PostgreSQL 15 plans on every call
# whatever plan_cache_mode says (about half of metric_gauges' time): PL/pgSQL now.
# Planned on every call, and left so: snapshot_stats (once a minute, 0.2 ms of planning a run;
# its custom plan sees the minute's bounds and prunes the attempts' day partitions when it is
# planned). It runs in the grown-table test only.
PLANNED_EVERY_CALL = {"snapshot_stats"}


@pytest.fixture
def session(server: Server, db: str) -> Iterator[Session]:
    require(server.has_statements, "pg_stat_statements (PostgreSQL's contrib)")
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("create extension if not exists pg_stat_statements")
        conn.execute("set pg_stat_statements.track = 'none'")
        conn.execute("set pg_stat_statements.track_planning = on")
        conn.execute(
            "insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme')"
        )
        conn.execute("select hookline.add_source('acme', 'acme-wa', 'whatsapp', 'app-secret')")
        conn.execute("select hookline.add_sender('acme-wa', '1065', 'EAAG-token')")
        # The endpoint's id is 9, so its breaker's target sorts after most of a platform's
        # ('endpoint:9' after 'endpoint:10' to 'endpoint:8999'), as most endpoints' do.
        conn.execute(
            "select setval(pg_get_serial_sequence('hookline.endpoints', 'endpoint_id'), 8)"
        )
        conn.execute(
            "select hookline.add_endpoint(tenant => 'acme', name => 'plans', "
            "url => 'http://127.0.0.1:9/', retry_schedule => '{0.001 s, 0.001 s, 0.001 s, 0.001 s, 0.001 s}')"
        )
        conn.execute(
            "select hookline.add_subscription(endpoint => 'plans', event_type_pattern => '*')"
        )
        conn.execute(  # breaker rows, that completes update, that never open here
            "select hookline.configure_breaker('endpoint:' || endpoint_id, "
            "max_consecutive_failures => 1000, failure_rate => 1) "
            "from hookline.endpoints where name = 'plans'"
        )
        conn.execute(
            "select hookline.configure_breaker('sender:1065', max_consecutive_failures => 1000, "
            "failure_rate => 1)"
        )
        conn.execute(
            "select pg_stat_statements_reset(0, (select oid from pg_database "
            "where datname = current_database()), 0)"
        )
        yield Session(conn)


@pytest.mark.parametrize("function", [f for f in WORKLOADS if f not in PLANNED_EVERY_CALL])
def test_inner_statements_are_not_planned_on_every_call(session: Session, function: str) -> None:
    WORKLOADS[function](session)
    rows = session.quiet(
        "select plans, calls, mean_plan_time, regexp_replace(left(query, 160), '\\s+', ' ', 'g') "
        "from pg_stat_statements where not toplevel "
        "and dbid = (select oid from pg_database where datname = current_database()) "
        "order by plans desc"
    )
    assert rows, "pg_stat_statements saw no statement inside the function"
    replanned = [r for r in rows if r[0] > MAX_PLANS]
    assert not replanned, (
        f"hookline.{function}: {len(replanned)} statement(s) planned again on nearly every one of "
        f"{CALLS} calls in one session (plans, executions, mean planning time, statement):\n"
        + "\n".join(f"  {p} plans, {c} runs, {t:.3f} ms: {q}" for p, c, t, q in replanned)
    )


# The tables that grow without bound between two analyses: a queue after an outage, a burst
# of messages, a day's events; and those that grow with a platform (its numbers, their
# breakers, its endpoints, its tenants and their sources), where a read that stops at its
# first match hides a whole read while the test's own rows sort first. A plan made while they
# were small, or while their statistics said they were empty, must not read them whole.
GROWING = r"(deliveries|outbox|event_keys|events_p\w+|attempts_p\w+|senders|circuit_breakers|endpoints|sources|tenants)\b"
WHOLE = re.compile(r"(Seq Scan|Bitmap Heap Scan) on " + GROWING)
INDEX_SCAN = re.compile(
    r"(?:Index Scan|Index Only Scan)(?: Backward)? using (\w+) on "
    + GROWING
    + r"[^\n]*\n(?:\s+Index Cond: ([^\n]*))?"
)
# The gauges, and the alerts that compare them with their rules every minute.
GAUGES = ("metric_gauges", "evaluate_alerts")
# Whole reads (an index without a condition on its first column, or a table) that are a
# function's work: the lease-rescue job reads every in-flight lease (a partial index of
# in-flight rows); a claim, the runners' wait and the wake-up job every active endpoint (a
# partial index of the active ones); the gauges every endpoint and breaker.
WHOLE_BY_DESIGN = {
    ("rescue_leases", "deliveries_in_flight_idx"),
    ("claim", "endpoints_active_idx"),
    ("next_due", "endpoints_active_idx"),
    ("wake_due_retries", "endpoints_active_idx"),
    *((f, r) for f in GAUGES for r in ("endpoints", "circuit_breakers")),
}
# Jobs whose work is a read of a whole grown table, so only the rows they fetch are bounded:
# the snapshot counts the live backlog by endpoint and state, once a minute.
READS_WHOLE_BY_DESIGN = {"snapshot_stats"}
# Calls that make the plans before the tables grow: five custom plans and the generic one.
BEFORE_GROWTH = 7
# Calls whose plans and reads are checked after: every batch size of SIZES, a few more.
AFTER_GROWTH = 12
# The growth: rows of each growing table, and numbers (senders, each with a breaker),
# endpoints (paused) and tenants (each with a source) of the platform.
GROWTH = 20000
NUMBERS = 10000
ENDPOINTS = 3000
TENANTS = 3000
# Rows one call may fetch from a grown table (by index or sequentially): a call reads what its
# batch needs, at most a few hundred rows; the growth is 20,000 rows of each table, and of the
# session's own number's history.
# (And from the platform's tables, which grow by NUMBERS numbers, each with a breaker,
# ENDPOINTS endpoints and TENANTS tenants, each with a source.)
FETCHED = (
    "select relname::text, coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) "
    "from pg_catalog.pg_stat_xact_user_tables where schemaname = 'hookline' and relname ~ "
    "'^(deliveries|outbox|event_keys|events_p[0-9]+|attempts_p[0-9]+|senders|circuit_breakers|endpoints|sources|tenants)$'"
)
MOST_FETCHED = 2000


def fetched_by(conn: psycopg.Connection, call: Callable[[], object]) -> dict[str, int]:
    """Rows fetched from each table of FETCHED by `call`, run in a transaction of its own: the
    difference within it (PostgreSQL 15's pg_stat_xact counters hold what the session did since
    its last flush of statistics, not only this transaction's)."""
    with conn.transaction():
        before = dict(conn.execute(FETCHED).fetchall())
        call()
        after = dict(conn.execute(FETCHED).fetchall())
    return {t: n - before.get(t, 0) for t, n in after.items()}


# Rows one plan node may process in a call (its actual rows times its loops, from the plans
# with log_analyze): a plan made on small tables may also read a grown table once and then go
# over it again for every row of another, in memory (a sort or an aggregate rescanned in a
# nested loop), which the rows fetched do not show.
MOST_PROCESSED = 2 * GROWTH
NODE = re.compile(r"\(actual rows=(\d+) loops=(\d+)\)")
REMOVED = re.compile(r"^\s+Rows Removed by (?:Join )?Filter: (\d+)$")


@dataclass
class Node:
    """A plan node's rows in one call: those it returned, and those its filters removed."""

    line: str
    returned: int
    removed: int = 0


def nodes_of(plans: str) -> list[Node]:
    """Every plan node of `plans` (auto_explain's text with log_analyze), its counts times its
    loops: EXPLAIN prints both per loop, and a filter's lines follow its node's line, before
    its children."""
    nodes: list[tuple[Node, int]] = []
    for line in plans.splitlines():
        if m := NODE.search(line):
            nodes.append((Node(line.strip(), int(m[1]) * int(m[2])), int(m[2])))
        elif (m := REMOVED.match(line)) and nodes:
            node, loops = nodes[-1]
            node.removed += int(m[1]) * loops
    return [node for node, _ in nodes]


# Rows one plan node's filters may remove in a call: as many as a call may fetch (MOST_FETCHED).
# A read of a whole index by a condition that does not narrow it, kept by a filter, shows only
# here when its scan is index-only (no heap row fetched); so does a join filter's rejection of
# the inner side's rows, loop after loop. (The catalog's rows are the test's own statements',
# pg_stat_xact_user_tables.)
CATALOG = re.compile(r" on pg_\w+ ")
# ...but the snapshot's fold of the dead letters' counts, a row per endpoint with dead letters
# (those that need no folding stay), and the alerts' comparison of every gauge with its rules'
# thresholds (six series per endpoint).
MOST_REMOVED_BY_DESIGN = {
    "snapshot_stats": ENDPOINTS + MOST_FETCHED,
    "evaluate_alerts": 6 * ENDPOINTS + MOST_FETCHED,
}
# ...but the gauges' output: six series per endpoint.
MOST_PROCESSED_BY_DESIGN = dict.fromkeys(GAUGES, 6 * ENDPOINTS + MOST_PROCESSED)
# Reads of a whole table that are a function's work: the gauges count every breaker by state
# and read each endpoint's, and give each endpoint two series families (its snapshot's and its
# breaker's), each read of the endpoint by key.
MOST_FETCHED_BY_DESIGN = {
    **{(f, "circuit_breakers"): NUMBERS + 2 * ENDPOINTS + MOST_FETCHED for f in GAUGES},
    **{(f, "endpoints"): 2 * ENDPOINTS + MOST_FETCHED for f in GAUGES},
    # One snapshot row per endpoint, from one read of the live backlog (the growth's deliveries,
    # one at each grown endpoint, and the workload's).
    ("snapshot_stats", "endpoints"): ENDPOINTS + MOST_FETCHED,
    ("snapshot_stats", "deliveries"): GROWTH + ENDPOINTS + MOST_FETCHED,
}


@dataclass
class GrowingSession(Session):
    """Tracked calls after the first BEFORE_GROWTH run once the growing tables have 20,000
    more rows, added by another session (`dsn`), and have their plans read (auto_explain
    notices). `empty_statistics`: the tables are analysed before that session commits, so
    their statistics say they are empty (what autovacuum's analyze records during a bulk
    insert); else no analyze."""

    dsn: str = ""
    empty_statistics: bool = False
    calls: int = 0
    plans: list[str] = field(default_factory=list)
    fetched: dict[str, int] = field(default_factory=dict)  # most rows one call read, by table

    def tracked(self, sql: str, params: object = None) -> list[tuple]:
        self.calls += 1
        if self.calls <= BEFORE_GROWTH:
            return self.quiet(sql, params)
        if self.calls == BEFORE_GROWTH + 1:
            self.grow()
        self.quiet("set auto_explain.log_min_duration = 0")
        self.quiet("set auto_explain.log_analyze = on")
        self.quiet("set auto_explain.log_timing = off")
        try:
            # The call in a transaction of its own, as in autocommit, and the rows it fetched
            # from each grown table.
            rows: list[tuple] = []
            fetched = fetched_by(self.conn, lambda: rows.extend(self.quiet(sql, params)))
            for table, n in fetched.items():
                self.fetched[table] = max(self.fetched.get(table, 0), n)
            return rows
        finally:
            self.quiet("set auto_explain.log_min_duration = -1")
            self.quiet("set auto_explain.log_analyze = off")

    def grow(self) -> None:
        with psycopg.connect(self.dsn) as bulk:
            # Events, and their deliveries to the session's endpoint ('*'); messages of a
            # sender of another source, paused (they wait, unclaimed).
            # (In batches of the batch ingest, and the messages as rows: as 20,000 calls each,
            # the growth was most of the test's time.)
            for first in range(0, GROWTH, 10000):
                bulk.execute(
                    "select hookline.ingest_many('acme-wa', array_agg('grow-' || i), "
                    "array_agg('grow.event'::text), array_agg('{}'::jsonb)) "
                    "from generate_series(%s + 1, least(%s + 10000, %s)) i",
                    (first, first, GROWTH),
                )
            bulk.execute(
                "insert into hookline.outbox (source_id, next_attempt_at, created_at, state, "
                "phone_number_id, tenant_id, idempotency_key, recipient, message) "
                "select s.source_id, now(), now(), 'queued', '2065', s.tenant_id, 'grow-' || i, "
                '\'+1651\' || lpad(i::text, 7, \'0\'), \'{"type": "text", "text": {"body": "hi"}}\' '
                "from hookline.sources s, generate_series(1, %s) i where s.name = 'acme-grow'",
                (GROWTH,),
            )
            # A platform's numbers, idle, each with a breaker, sorting before the session's
            # ('1000001' < '1065': a read of their key from its start that stops at the first
            # match reads them all), and its handlers, paused (a claim reads only the active
            # ones). Without their audit rows (the audit log's triggers
            # write a chained row per number or endpoint: most of the growth's time).
            bulk.execute("set local session_replication_role = replica")
            bulk.execute(
                "insert into hookline.senders (phone_number_id, source_id, tenant_id, access_token) "
                "select (1000000 + i)::text, s.source_id, s.tenant_id, 'EAAG-token-3' "
                "from hookline.sources s, generate_series(1, %s) i where s.name = 'acme-grow'",
                (NUMBERS,),
            )
            bulk.execute(
                "insert into hookline.circuit_breakers (target, window_started_at, changed_at) "
                "select 'sender:' || (1000000 + i), now(), now() from generate_series(1, %s) i",
                (NUMBERS,),
            )
            bulk.execute(
                "insert into hookline.endpoints (tenant_id, name, url, signing_secret, state, "
                "paused_reason) select 'acme', 'grow-' || i, 'http://127.0.0.1:9/' || i, "
                "'whsec_' || repeat('A', 32), 'paused', 'grown' from generate_series(1, %s) i",
                (ENDPOINTS,),
            )
            bulk.execute(  # breakers of the endpoints (each once failed)
                "insert into hookline.circuit_breakers (target, window_started_at, changed_at) "
                "select 'endpoint:' || e.endpoint_id, now(), now() from hookline.endpoints e "
                "where e.name like 'grow-%'"
            )
            bulk.execute(  # the platform's tenants, each with a source (names sorting first)
                "insert into hookline.tenants (tenant_id, display_name) "
                "select 'a' || lpad(i::text, 5, '0'), 'grown' from generate_series(1, %s) i",
                (TENANTS,),
            )
            bulk.execute(
                "insert into hookline.sources (tenant_id, name, kind, signing_secrets) "
                "select 'a' || lpad(i::text, 5, '0'), 'a' || lpad(i::text, 5, '0') || '-wa', "
                "'whatsapp', '{grown}' from generate_series(1, %s) i",
                (TENANTS,),
            )
            bulk.execute(  # and dead letters (their counts, as the triggers append them)
                "insert into hookline.dead_letter_counts (tenant_id, endpoint_id, dead_count) "
                "select e.tenant_id, e.endpoint_id, 1 from hookline.endpoints e "
                "where e.name like 'grow-%'"
            )
            bulk.execute("set local session_replication_role = origin")
            # A delivery waiting at each paused endpoint (a paused endpoint keeps its backlog),
            # of one of the grown events: the live backlog spans the platform's endpoints.
            bulk.execute(
                "insert into hookline.deliveries (endpoint_id, event_id, event_received_at, "
                "next_attempt_at, created_at, tenant_id) "
                "select e.endpoint_id, v.event_id, v.received_at, now(), now(), e.tenant_id "
                "from hookline.endpoints e, (select event_id, received_at from hookline.events "
                "where external_id = 'grow-1') v where e.name like 'grow-%'"
            )
            # The history of the session's own number: a read by number (a table's first
            # column) without the rest of the key reads all of it.
            bulk.execute(
                "insert into hookline.outbox (source_id, next_attempt_at, last_claimed_at, "
                "created_at, sent_at, state, phone_number_id, tenant_id, idempotency_key, "
                "recipient, wamid, message) "
                "select s.source_id, null, t, t, t, 'sent', '1065', 'acme', 'history-' || i, "
                "'+1659' || lpad(i::text, 7, '0'), 'wamid.history.' || i, '{\"type\": \"text\"}' "
                "from hookline.sources s, generate_series(1, %s) i, "
                "(select timestamptz '2026-01-01 00:00Z' as t) t where s.name = 'acme-wa'",
                (GROWTH,),
            )
            if self.empty_statistics:
                for table in (
                    "deliveries",
                    "outbox",
                    "events",
                    "event_keys",
                    "senders",
                    "circuit_breakers",
                    "endpoints",
                ):
                    self.quiet(f"analyze hookline.{table}")
            bulk.commit()
        self.plans = plans_as_notices(self.conn)


@pytest.mark.parametrize("statistics", ["stale", "empty", "drained"])
@pytest.mark.parametrize("function", list(WORKLOADS))
def test_plans_made_on_small_tables_do_not_read_them_whole_once_grown(session: Session, db: str, function: str, statistics: str) -> None:  # fmt: skip
    """stale: the plans were made on the small tables and no analyze ran since; empty: the
    tables were analysed while the 20,000 rows were uncommitted; drained: the plans were made
    after a vacuum of the empty tables. In each, every read of a grown table is an index read
    with a condition on the index's first column."""
    conn = session.conn
    conn.execute("select hookline.add_source('acme', 'acme-grow', 'whatsapp', 'app-secret')")
    conn.execute("select hookline.add_sender('acme-grow', '2065', 'EAAG-token-2')")
    conn.execute("select hookline.pause_sender('2065', 'plans')")
    # No analyze but the test's own (autovacuum's would make new plans, hiding bad ones).
    for (table,) in conn.execute(
        "select c.oid::regclass::text from pg_catalog.pg_class c "
        "where c.relnamespace = 'hookline'::regnamespace and c.relkind = 'r'"
    ).fetchall():
        conn.execute(f"alter table {table} set (autovacuum_enabled = off)")
        if statistics == "drained":
            conn.execute(f"vacuum analyze {table}")
    keys = IndexKeys(conn)
    grown = GrowingSession(
        conn, BEFORE_GROWTH + AFTER_GROWTH, dsn=db, empty_statistics=statistics == "empty"
    )
    WORKLOADS[function](grown)
    assert grown.calls > BEFORE_GROWTH
    assert grown.plans, "no plan read after the tables grew"
    text = "\n".join(grown.plans)
    if function not in READS_WHOLE_BY_DESIGN:
        whole = {
            f"{kind} on {table}"
            for kind, table in WHOLE.findall(text)
            if (function, table) not in WHOLE_BY_DESIGN
        }
        for index, table, cond in INDEX_SCAN.findall(text):
            if keys.bounded(index, cond) or WHOLE_BY_DESIGN & {
                (function, index),
                (function, table),
            }:
                continue
            whole.add(f"{index} on {table} without a condition on its first column: {cond!r}")
        assert not whole, f"{function}: {sorted(whole)}"
    # No JIT: a statement whose estimated cost crosses jit_above_cost (a scan enable_seqscan =
    # off disables costs 10^10; a table too small for autovacuum to analyse is estimated at ten
    # pages) is compiled on every call, tens to hundreds of ms, whatever it finds.
    compiled = [p.split("\n")[1][:160] for p in grown.plans if "\nJIT:" in p]
    assert not compiled, f"{function}: JIT-compiled statements: {compiled}"
    assert grown.fetched, "no call's reads counted"
    many = {
        t: n
        for t, n in grown.fetched.items()
        if n > MOST_FETCHED_BY_DESIGN.get((function, t), MOST_FETCHED)
    }
    assert not many, f"{function}: most rows one call fetched, by table: {many}"
    nodes = nodes_of(text)
    most = max(nodes, key=lambda n: n.returned + n.removed)
    assert most.returned + most.removed <= MOST_PROCESSED_BY_DESIGN.get(function, MOST_PROCESSED), (
        f"{function}: a plan node processed {most.returned + most.removed} rows in one call: {most}"
    )
    filtered = max((n for n in nodes if not CATALOG.search(n.line)), key=lambda n: n.removed)
    assert filtered.removed <= MOST_REMOVED_BY_DESIGN.get(function, MOST_FETCHED), (
        f"{function}: a plan node's filters removed {filtered.removed} rows in one call: {filtered}"
    )


def test_a_claim_of_messages_looks_for_each_candidates_older_message_by_the_live_index(conn: psycopg.Connection, tenant_source: str) -> None:  # fmt: skip
    """claim_messages defers a candidate while an older message of its recipient is queued.
    With the outbox analysed while it had no live rows (a drained outbox with its sent
    history, then a burst), that look was planned as a read of outbox_due_idx, every due
    message of the number for each candidate (a claim of 200 of 1,000 due took about 100 ms
    instead of about 20); it must read outbox_live_recipient_idx, the recipient's live
    messages, whatever the statistics say."""
    conn.execute("select hookline.add_sender('acme-wa', '1065', 'EAAG-token-1', messages_per_second => 10000)")  # fmt: skip
    conn.execute(
        "insert into hookline.outbox (source_id, next_attempt_at, last_claimed_at, created_at, "
        "sent_at, state, phone_number_id, tenant_id, idempotency_key, recipient, wamid, message) "
        "select s.source_id, null, now() - interval '2 days', now() - interval '2 days', "
        "now() - interval '2 days', 'sent', '1065', 'acme', 'h' || i, "
        "'+1650555' || lpad((i % 300)::text, 4, '0'), 'wamid.h' || i, '{\"type\": \"text\"}' "
        "from hookline.sources s, generate_series(1, 3000) i where s.name = 'acme-wa'"
    )
    conn.execute("vacuum analyze hookline.outbox")  # the statistics: no live message
    conn.execute(
        "select count(*) from generate_series(0, 299) i, lateral hookline.send_message('acme-wa', "
        '\'+1650555\' || lpad(i::text, 4, \'0\'), \'{"type": "text", "text": {"body": "x"}}\', '
        "'burst-' || i) x"
    )
    plans = plans_as_notices(conn)
    conn.execute("set auto_explain.log_min_duration = 0")
    conn.execute("set auto_explain.log_analyze = on")
    claimed = conn.execute("select count(*) from hookline.claim_messages('r1', 60, '1 minute')")
    assert claimed.fetchone() == (60,)
    conn.execute("set auto_explain.log_min_duration = -1")
    pair = [p for p in plans if "ahead_at" in p]
    assert pair, "no plan of the pair-limit statement"
    reads = re.findall(r"Index (?:Only )?Scan(?: Backward)? using (\w+) on outbox q\b", pair[0])
    assert reads == ["outbox_live_recipient_idx"], pair[0]


def test_a_status_webhook_finds_its_message_by_key_whatever_the_plan(db: str, conn: psycopg.Connection, tenant_source: str) -> None:  # fmt: skip
    """receive_many finds a status's outbox message by its wamid, else by the outbox id in its
    callback data, then checks the message's tenant and number. With the number's condition
    beside the key, a generic plan made while the outbox was empty (an ingress session that
    took a status before any message was sent) read outbox_pair_idx by number: every message
    the number ever sent, for each status (about 40,000 buffers at 20,000 sent). Whatever the
    plan, a status reads a few outbox rows."""
    conn.execute("select hookline.add_sender('acme-wa', '1065', 'EAAG-token-1')")
    conn.execute("alter table hookline.outbox set (autovacuum_enabled = off)")
    conn.execute("vacuum analyze hookline.outbox")  # empty
    receive = (
        "select new_event_count from hookline.receive('acme-wa', %(b)s::text::jsonb, "
        "convert_to(%(b)s::text, 'UTF8'))"
    )

    def status(**item: str) -> dict[str, str]:
        value = {"metadata": {"phone_number_id": "1065"}, "statuses": [item]}
        change = {"field": "messages", "value": value}
        entry = {"id": "102290129340398", "changes": [change]}
        return {"b": json.dumps({"object": "whatsapp_business_account", "entry": [entry]})}

    with psycopg.connect(db) as ingress:
        for i in range(BEFORE_GROWTH):  # the plans, made on the empty outbox
            ingress.execute(receive, status(id=f"wamid.none{i}", status="delivered"))
        ingress.commit()
        conn.execute(
            "insert into hookline.outbox (source_id, next_attempt_at, last_claimed_at, created_at, "
            "sent_at, state, phone_number_id, tenant_id, idempotency_key, recipient, wamid, message) "
            "select s.source_id, null, now() - interval '1 hour', now() - interval '1 hour', "
            "now() - interval '1 hour', 'sent', '1065', 'acme', 'h' || i, "
            "'+1650555' || lpad(i::text, 5, '0'), 'wamid.h' || i, '{\"type\": \"text\"}' "
            "from hookline.sources s, generate_series(1, 20000) i where s.name = 'acme-wa'"
        )
        queued = conn.execute(
            "select hookline.send_message('acme-wa', '+16505559999', "
            '\'{"type": "text", "text": {"body": "x"}}\', \'u1\')'
        ).fetchone()[0]
        callback = f"hookline:{queued}"

        def two_statuses() -> None:
            ingress.execute(receive, status(id="wamid.h777", status="delivered"))
            ingress.execute(
                receive, status(id="wamid.U1", status="sent", biz_opaque_callback_data=callback)
            )

        fetched = fetched_by(ingress, two_statuses)["outbox"]
    states = conn.execute(
        "select idempotency_key, state::text, wamid from hookline.outbox "
        "where idempotency_key in ('h777', 'u1') order by 1"
    ).fetchall()
    assert states == [("h777", "delivered", "wamid.h777"), ("u1", "sent", "wamid.U1")]
    assert fetched < 50, f"two statuses fetched {fetched} outbox rows"


@pytest.mark.parametrize("statistics", ["stale", "drained"])
def test_a_pair_limit_answer_reads_its_recipients_live_messages_whatever_the_plan(db: str, conn: psycopg.Connection, tenant_source: str, statistics: str) -> None:  # fmt: skip
    """A pair-limit answer (131056), to a send (complete_messages) or in a failed status
    webhook (receive_many), defers the recipient's other queued messages with the answered
    one. The plans are made on a small outbox (stale: never analysed; drained: vacuumed while
    empty, statistics of 0 pages), then the recipient has 20,000 sent messages and the number
    20,000 queued ones to others, due before the answer's wait ends. Each answer reads a few
    outbox rows (before: a drained plan read outbox_pair_idx whole, 80,000 rows, to find the
    batch's numbers and messages); the recipient's next message waits, the number's others
    do not."""
    conn.execute("select hookline.add_sender('acme-wa', '1065', 'EAAG-token-1', messages_per_second => 10000)")  # fmt: skip
    conn.execute("alter table hookline.outbox set (autovacuum_enabled = off)")
    if statistics == "drained":
        conn.execute("vacuum analyze hookline.outbox")
    base = conn.execute("select date_trunc('second', now())").fetchone()[0]
    text = Jsonb({"type": "text", "text": {"body": "x"}})
    sent = (
        "insert into hookline.outbox (source_id, next_attempt_at, last_claimed_at, created_at, "
        "sent_at, state, phone_number_id, tenant_id, idempotency_key, recipient, wamid, message) "
        "select s.source_id, null, %(t)s, %(t)s, %(t)s, 'sent', '1065', 'acme', %(key)s || i, "
        "%(to)s, 'wamid.' || %(key)s || i, '{\"type\": \"text\"}' "
        "from hookline.sources s, generate_series(1, %(n)s::int) i where s.name = 'acme-wa'"
    )
    receive = (
        "select new_event_count from hookline.receive('acme-wa', %(b)s::text::jsonb, "
        "convert_to(%(b)s::text, 'UTF8'), received_at => %(t)s)"
    )

    def failed_status(wamid: str, at: datetime) -> dict[str, object]:
        item = {"id": wamid, "status": "failed", "timestamp": "1749416501",
                "errors": [{"code": 131056, "title": "pair rate limit"}]}  # fmt: skip
        value = {"metadata": {"phone_number_id": "1065"}, "statuses": [item]}
        entry = {"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}
        return {"b": json.dumps({"object": "whatsapp_business_account", "entry": [entry]}), "t": at}

    send = "select hookline.send_message('acme-wa', %s, %s, %s, now => %s)"
    with psycopg.connect(db, autocommit=True) as s:

        def answer_pair_limit(at: datetime) -> list[int]:
            rows = s.execute(CLAIM_MESSAGES, (100, at)).fetchall()
            done = Jsonb([{"message_id": r[0], "lease_token": str(r[1]), "status_code": 400,
                           "error_code": 131056} for r in rows])  # fmt: skip
            s.execute("select * from hookline.complete_messages(%s, %s)", (done, at))
            return [r[0] for r in rows]

        for n in range(BEFORE_GROWTH):  # the plans, made on the small outbox
            at = base + timedelta(minutes=n)
            to = f"+1650555{n:04d}"
            conn.execute(sent, {"t": base - timedelta(days=1), "key": f"pre{n}.", "to": to, "n": 1})
            s.execute(send, (to, text, f"x{n}", at))
            assert answer_pair_limit(at)
            assert s.execute(receive, failed_status(f"wamid.pre{n}.1", at)).fetchone() == (1,)
        at = base + timedelta(minutes=BEFORE_GROWTH + 1)
        to = "+16505559999"
        conn.execute(sent, {"t": base - timedelta(days=1), "key": "h", "to": to, "n": 20000})
        conn.execute(
            "insert into hookline.outbox (source_id, next_attempt_at, created_at, state, "
            "phone_number_id, tenant_id, idempotency_key, recipient, message) "
            "select s.source_id, %s, now(), 'queued', '1065', 'acme', 'b' || i, "
            "'+1651' || lpad(i::text, 7, '0'), '{\"type\": \"text\"}' "
            "from hookline.sources s, generate_series(1, 20000) i where s.name = 'acme-wa'",
            (at + timedelta(milliseconds=500),),
        )
        first = s.execute(send, (to, text, "first", at)).fetchone()[0]
        s.execute(send, (to, text, "second", at))  # waits behind the first
        claimed: list[int] = []
        stored: list[tuple] = []
        fetched = [
            fetched_by(s, lambda: claimed.extend(answer_pair_limit(at)))["outbox"],
            fetched_by(s, lambda: stored.append(
                s.execute(receive, failed_status("wamid.h777", at)).fetchone())
            )["outbox"],
        ]  # fmt: skip
        assert first in claimed
        assert stored == [(1,)]
    waits = dict(conn.execute(
        "select idempotency_key, extract(epoch from next_attempt_at - %s)::float from hookline.outbox "
        "where idempotency_key in ('first', 'second', 'h777') and state = 'queued'", (at,)
    ).fetchall())  # fmt: skip
    assert waits.keys() == {"first", "second", "h777"}, waits
    assert min(waits.values()) >= 1, f"a message of the recipient not deferred: {waits}"
    backlog = conn.execute(
        "select count(*) from hookline.outbox where idempotency_key like 'b%%' "
        "and next_attempt_at = %s", (at + timedelta(milliseconds=500),)
    ).fetchone()  # fmt: skip
    assert backlog == (20000,), "the number's other messages were deferred"
    assert max(fetched) < 200, f"outbox rows fetched by a send's answer, by a status: {fetched}"
