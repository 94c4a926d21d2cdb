"""A randomized concurrency fuzz of the outbox (outbound WhatsApp messages), the sibling of
delivery_fuzz.py (docs/outbound.md, "Lock order"): the same harness (private server, sessions,
crashes, findings), other operations. Not a test: it runs for minutes and is not in the suite.

    python benchmarks/outbox_fuzz.py [--sessions 6] [--seconds 120] [--senders 8]
        [--seed 1] [--restart-every 0] [--functions OTHER/functions]

It adds two tenants, each with a WhatsApp source and a handler role (in hookline_sender,
mapped to its tenant alone) and a second source (another app subscribed to the tenant's WABA,
with its own app secret, no senders), `--senders` senders for the first and a quarter as many (at least
2) for the second (1 to 5 messages per second, pair limits of
1 to 3 per 0.2 to 1 s, retry schedules of 0.05 to 0.5 s, unconfirmed waits of 0.3 s, breakers
that open after 3 failures and cool down in 0.3 or 1 s, 1 or 2 probes), and runs sessions that
call, at random: send_message (1 to 4 messages to 12 recipients, some idempotency keys
repeated; and as either tenant's handler role, through its own or the other tenant's source
and numbers), status webhooks through receive and receive_many (`statuses`, below),
claim_messages (runners r1-r4, max_rows 1 to 200, leases of 0.2 to 5 s, some in a
transaction that began up to 0.3 s earlier), complete_messages (batches of 1 to 40 leases of
any session: 2xx with and without wamid, 5xx, 429, 400 with Graph codes, timeouts, refused
connections, Retry-After, repeated and late results, unknown ids, shuffled), release_messages
(sometimes by the wrong runner), next_message_due, pause_sender and resume_sender, set_sender
(messages_per_second, pair limits, timeout) and set_breaker (open, closed, auto) on senders.

Checked: no error but a documented HLxxx (a 40P01 is a finding); in each claim's own
transaction, while it holds its senders' locks, every sender it claimed from is active, not
throttled, not behind an open breaker (one unchanged for 50 ms) and, half-open, has no more
leases than its probes; a late result changes nothing and answers stale or unknown. After the
run, over every claim the sessions saw (on the database clock, the claim's time: the clock read
after its sender's locks, its rows' last_claimed_at): no sender had more claims in any sliding
second (t - 1 s, t] than the limit the claim at t saw, and no recipient got more than
pair_burst messages (other than the same message again) within pair_interval * pair_burst. At
the end, faults stop, every sender is resumed, its limits raised and its breaker closed, and
one session claims and completes 2xx until no message is queued, sending or unconfirmed; then
every message the sessions saw queued must be sent, delivered, read, failed or dead, and no
message may have been answered `sent` twice (but once more after each failed status of its
current copy that queued it again).

Status webhooks (`statuses`): bodies shaped as Meta sends them, signed with the source's app
secret and handed over as the ingress does (text, raw bytes, headers), one request per source
or one per status, several requests per receive_many call, or one receive per request and
transaction; 1 to 6 statuses (sent, delivered, read, played, failed with transient, unknown,
permanent, pair-limit, throttling and account codes, timestamps in any order) for the copies
WhatsApp got (each accepted send's wamid; 70 % of ambiguous sends as a wamid hookline never
learnt, with the outbox id in biz_opaque_callback_data), for unknown wamids, with an outbox
id and another number, through the other tenant's source (its number or the message's), and
earlier requests again (duplicates). A status of a message goes through either app of its
tenant, and 30 % of the requests (all of the `twice` calls': one failed status with a
transient or unknown code of a message's current copy) also through the tenant's other app,
in the same group or by another session (`twin_statuses`, concurrently or later; checked
when the first call was), and replays switch app at times: WhatsApp's copy for each app. In
40 % of the calls the watched messages (those named,
and 3 others) are locked first in the outbox's lock order and compared after the call: a
message no status is about is unchanged; failed and read ones do not move; sent < delivered
< read never goes back; a delivered one is not failed; a message in flight or queued is never
due sooner; a sent one is queued again only by a failed status of its own wamid (those calls
key their statuses apart, with a group participant, so that no other call waits for their
keys while they hold messages). A failed status counts once for its tenant: in a checked
call a message gains at most one attempt per distinct failed status about it, and its
number's breaker at most one failure in a row per distinct failed status about the number's
messages, whichever apps posted them; over all the checked calls (both apps' copies, in one
group or two concurrent calls), each failed status of a message added at most one attempt.
No call may refuse a request; at the end every status stored
is an event of its source (`(source, wamid:status[:participant])`).

Handler roles (`as_sender`): send_message as either tenant's role through a random source and
number, in a transaction: its own source and number queue a message of its tenant; the
other tenant's source fails with HL001 `unknown source '...'`, another source's number with
HL060; a refused call writes no outbox row; no audit row of another tenant is written.
"""

from __future__ import annotations

import collections
import datetime
import hashlib
import hmac
import json
import os
import random
import time
import uuid

import psycopg
from delivery_fuzz import Session, State, arguments, run
from psycopg.types.json import Jsonb

RECIPIENTS = [f"+1555000{i:04d}" for i in range(12)]
TEXT = {"type": "text", "text": {"body": "fuzz"}}
# (status_code or error_class, Graph error code): 2xx with and without wamid, transient,
# throttling (429 and 130429), the pair limit (131056), permanent (131026), unknown codes.
STATUS_WORDS = ["sent", "delivered", "read", "played", "failed"]
# A failed status's error.code: transient, unknown, permanent (message and recipient), the pair
# limit, the number's throughput, an account error (pauses the number).
FAILED_CODES = [
    131000,
    131000,
    1,
    131016,
    999999,
    131026,
    131047,
    131049,
    131051,
    131056,
    130429,
    190,
]
ANSWERS = [(200, None), (200, None), (200, None), (200, "nowamid"), (500, None), (503, None),
           (429, None), (400, 130429), (400, 131056), (400, 131026), (400, 131000), (400, 1),
           ("timeout", None), ("connect", None), ("network", None)]  # fmt: skip


class OutboxState(State):
    def __init__(self) -> None:
        super().__init__()
        # (phone_number_id, claimed_at, message_id, recipient, limit, pair_interval, pair_burst,
        # the order of the claim among the claims of its sender: taken under the sender's lock,
        # lease token)
        self.claims: list[tuple] = []
        self.released: set[str] = set()  # lease tokens given back unsent
        self.tenant_of: dict[str, str] = {}  # phone_number_id -> tenant
        self.source_of: dict[str, str] = {}  # phone_number_id -> source
        self.secrets: dict[str, str] = {}  # source -> app secret
        self.msg: dict[int, tuple[str, str, str]] = {}  # message_id -> (pnid, tenant, recipient)
        self.wamids: dict[int, list[str]] = collections.defaultdict(list)  # copies Meta "got"
        self.posted: list[tuple[str, bytes]] = []  # status webhooks stored, for duplicates
        self.expected: set[tuple[str, str]] = set()  # (source, event key) of stored statuses
        self.requeued: collections.Counter[int] = collections.Counter()  # new sends by a status
        self.touched: set[int] = set()  # messages a status may have moved
        # Requests to post again through the other app (source) of the tenant: WhatsApp sends
        # every subscribed app its own copy, at about the same time.
        self.twins: list[tuple[str, bytes, list | None]] = []  # (source, raw, checked: its items)
        # (message, failed status key): attempts it added, over the checked calls that posted it
        # through either app of the tenant (at most 1).
        self.counted: collections.Counter[tuple] = collections.Counter()
        self.via: dict[tuple, set[str]] = collections.defaultdict(set)  # its sources


# Two tenants, each with its WhatsApp source (app), senders and a handler role mapped to it
# alone (docs/outbound.md: `grant hookline_sender to ...`, `hookline tenants grant`).
TENANTS = {"acme": "wa", "beta": "wb"}
SENDER_ROLES = {"acme": "fuzz_acme_send", "beta": "fuzz_beta_send"}
# A second app subscribed to each tenant's WABA: its own source (and app secret), no senders.
# WhatsApp posts each status to both; a failed status counts once for the tenant.
TWINS = {"wa": "wa2", "wa2": "wa", "wb": "wb2", "wb2": "wb"}
TENANT_OF_SOURCE = {"wa": "acme", "wa2": "acme", "wb": "beta", "wb2": "beta"}


def setup(dsn: str, n_senders: int, rng: random.Random, st: OutboxState) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        for tenant, source in TENANTS.items():
            st.secrets[source] = os.urandom(16).hex()
            c.execute(
                "select hookline.add_source(tenant_id => %s, name => %s, kind => 'whatsapp', "
                "secret => %s, verify_token => 'v', create_tenant => true)",
                (tenant, source, st.secrets[source]),
            )
            twin = TWINS[source]
            st.secrets[twin] = os.urandom(16).hex()
            c.execute(
                "select hookline.add_source(tenant_id => %s, name => %s, kind => 'whatsapp', "
                "secret => %s, verify_token => 'v')",
                (tenant, twin, st.secrets[twin]),
            )
            c.execute(f"create role {SENDER_ROLES[tenant]} nologin in role hookline_sender")
            c.execute(
                "select hookline.grant_tenant(%s, %s, 'fuzz')", (SENDER_ROLES[tenant], tenant)
            )
        # --senders numbers of acme, a quarter as many (at least 2) of beta.
        numbers = [(str(1000 + i), "acme") for i in range(n_senders)]
        numbers += [(str(2000 + i), "beta") for i in range(max(2, n_senders // 4))]
        for pnid, tenant in numbers:
            c.execute(
                "select hookline.add_sender(%s, %s, 'EAAG-fuzz', messages_per_second => %s, "
                "pair_interval => %s::interval, pair_burst => %s, unconfirmed_wait => '0.3 s', "
                "timeout_ms => %s, retry_schedule => %s::interval[])",
                (
                    TENANTS[tenant],
                    pnid,
                    rng.choice([1, 2, 3, 5]),
                    rng.choice(["0.2 s", "0.5 s", "1 s"]),
                    rng.choice([1, 1, 2, 3]),
                    rng.choice([100, 300, 1000]),
                    rng.choice(
                        ["{0.05 s, 0.2 s, 0.5 s}", "{0.01 s}", "{}", "{0.3 s, 0.3 s, 0.3 s}"]
                    ),
                ),
            )
            c.execute(
                "select hookline.configure_breaker(target => %s, min_requests => 4, "
                "max_consecutive_failures => 3, base_cooldown => %s::interval, max_cooldown => '3 s', "
                "probes => %s, window_length => '5 s')",
                (f"sender:{pnid}", rng.choice(["0.3 s", "1 s"]), rng.choice([1, 2])),
            )
            st.endpoints.append((pnid, pnid))
            st.tenant_of[pnid], st.source_of[pnid] = tenant, TENANTS[tenant]
        c.execute("create sequence fuzz_claims")


def due(row: dict) -> datetime.datetime:
    """A message row's (to_jsonb) next_attempt_at."""
    return datetime.datetime.fromisoformat(row["next_attempt_at"])


class OutboxSession(Session):
    st: OutboxState

    def send(self) -> None:
        rng = self.rng
        n = rng.choice([1, 1, 2, 4])
        picks = [
            (
                f"k{rng.randrange(10**9)}" if rng.random() > 0.05 else f"dup{rng.randrange(50)}",
                rng.choice(self.st.endpoints)[0],
                rng.choice(RECIPIENTS),
            )
            for _ in range(n)
        ]
        ids = []
        with self.c.transaction():
            # In key order, as one call per key would be made by a handler (repeated keys in
            # another order wait on each other by design).
            for key, pnid, to in sorted(picks):
                ids.append(
                    (
                        self.c.execute(
                            "select hookline.send_message(%s, %s, %s, %s, phone_number_id => %s)",
                            (self.st.source_of[pnid], to, Jsonb(TEXT), key, pnid),
                        ).fetchone()[0],
                        pnid,
                        to,
                    )
                )
        self.created(ids)

    def created(self, ids: list[tuple[int, str, str]]) -> None:
        with self.st.lock:
            for m, pnid, to in ids:
                if m not in self.st.created:
                    self.st.created[m] = 0
                    self.st.created_list.append(m)
                    self.st.msg[m] = (pnid, self.st.tenant_of[pnid], to)

    def claim(self) -> None:
        rng = self.rng
        runner = rng.choice(["r1", "r2", "r3", "r4"])
        max_rows = rng.choice([1, 2, 3, 5, 10, 50, 200])
        with self.c.transaction():
            if rng.random() < 0.2:
                self.c.execute("select pg_sleep(%s)", (rng.random() * 0.3,))
            t0 = self.c.execute("select clock_timestamp()").fetchone()[0]
            rows = self.c.execute(
                "select message_id, lease_token::text, phone_number_id from hookline.claim_messages(%s, %s, %s::interval)",
                (runner, max_rows, rng.choice(["0.2 s", "1 s", "2 s", "5 s"])),
            ).fetchall()
            if len(rows) > max_rows or len({r[0] for r in rows}) != len(rows):
                self.st.find(
                    f"claim_messages returned {len(rows)} rows (max_rows {max_rows}): {rows}"
                )
            if not rows:
                return
            # Under the sender locks the claim still holds: the senders and their breakers.
            checks = self.c.execute(
                """
                select s.phone_number_id, s.state, s.throttled_until, coalesce(s.throttled_rate, s.messages_per_second),
                  s.pair_interval, s.pair_burst,
                  (select count(*) from hookline.outbox o where o.phone_number_id = s.phone_number_id
                     and o.state = 'sending' and o.next_attempt_at > clock_timestamp()) as leased,
                  b.state, b.is_forced, b.open_until, b.probes,
                  -- The claim's time for this sender (the clock, read after its locks; not
                  -- this transaction's start): its throttle and breaker were judged then.
                  (select min(o.last_claimed_at) from hookline.outbox o
                   where o.phone_number_id = s.phone_number_id and o.message_id = any(%s)),
                  pg_xact_commit_timestamp(b.xmin)
                from hookline.senders s
                left join hookline.circuit_breakers b on b.target = 'sender:' || s.phone_number_id
                where s.phone_number_id = any(%s)
                """,
                ([r[0] for r in rows], sorted({r[2] for r in rows})),
            ).fetchall()
            limits = {}
            for pnid, state, throttled, limit, pint, pburst, leased, bstate, forced, until, probes, claimed_at, bcommit in checks:  # fmt: skip
                limits[pnid] = (limit, pint, pburst)
                if state != "active":
                    self.st.find(f"claim_messages claimed from sender {pnid} in state {state}")
                if throttled is not None and throttled > claimed_at:
                    self.st.find(
                        f"claim_messages claimed from sender {pnid} throttled until {throttled}"
                    )
                stable = bcommit is not None and bcommit < t0 - datetime.timedelta(milliseconds=50)
                if bstate == "open" and (forced or until > claimed_at) and stable:
                    self.st.find(
                        f"claim_messages claimed from sender {pnid} behind an open breaker"
                    )
                if bstate == "half_open" and stable and leased > probes:
                    self.st.find(f"sender {pnid}: half-open with {leased} leases > probes {probes}")
            claimed = self.c.execute(
                "select message_id, recipient, last_claimed_at, nextval('fuzz_claims') "
                "from hookline.outbox where message_id = any(%s)",
                ([r[0] for r in rows],),
            ).fetchall()
        pnid_of = {r[0]: r[2] for r in rows}
        now_m = time.monotonic()
        with self.st.lock:
            self.st.rows_claimed += len(rows)
            token = {r[0]: r[1] for r in rows}
            for m, to, at, seq in claimed:
                self.st.claims.append((pnid_of[m], at, m, to, *limits[pnid_of[m]], seq, token[m]))
            for m, tok, pnid in rows:
                self.st.pool.append((m, tok, pnid, runner, now_m))
            if len(self.st.pool) > 400:
                self.st.pool = self.st.pool[-400:]

    _take = Session._take

    def result(self, m: int, tok: str) -> dict:
        answer, code = self.rng.choice(ANSWERS)
        r: dict = {"message_id": m, "lease_token": tok, "duration_ms": self.rng.randrange(100)}
        if isinstance(answer, str):
            r["error_class"] = answer
        else:
            r["status_code"] = answer
        if answer == 200 and code is None:
            r["wamid"] = f"wamid.{m}.{uuid.uuid4().hex[:8]}"
        if isinstance(code, int):
            r["error_code"] = code
        if self.rng.random() < 0.1:
            r["retry_after_s"] = self.rng.choice([0, 0.5, 1, 2])
        return r

    def complete(self) -> None:
        rng = self.rng
        results = []
        for m, tok, *_ in self._take(rng.choice([1, 2, 5, 20, 40])):
            results.append(self.result(m, tok))
            if rng.random() < 0.05:
                results.append(self.result(m, tok))  # a repeated result
        with self.st.lock:
            olds = rng.sample(
                self.st.old_tokens, min(len(self.st.old_tokens), rng.choice([0, 0, 1, 3]))
            )
        results += [self.result(m, tok) for m, tok in olds]
        if rng.random() < 0.05:
            results.append(self.result(10**12 + rng.randrange(1000), str(uuid.uuid4())))
        rng.shuffle(results)
        if not results:
            return
        out = self.c.execute(
            "select message_id, outcome from hookline.complete_messages(%s)", (Jsonb(results),)
        ).fetchall()
        if len(out) != len({r["message_id"] for r in results}):
            self.st.find(f"complete_messages returned {len(out)} rows for {len(results)} results")
        outcome = dict(out)
        with self.st.lock:
            for m, o in out:
                if o == "sent":
                    self.st.succeeded[m] += 1
            # The copies WhatsApp got, that status webhooks may report on: each accepted send's
            # wamid, and most ambiguous sends (they did go, their answer was lost).
            for r in results:
                if outcome.get(r["message_id"]) in (None, "stale", "unknown"):
                    continue
                if r.get("wamid"):
                    self.st.wamids[r["message_id"]].append(r["wamid"])
                elif (
                    r.get("status_code") == 200 or r.get("error_class") in ("timeout", "network")
                ) and rng.random() < 0.7:
                    self.st.wamids[r["message_id"]].append(f"wamid.g{uuid.uuid4().hex[:12]}")

    def stale_complete(self) -> None:
        """A result with an old or random token, its row locked first: nothing may change."""
        rng = self.rng
        with self.st.lock:
            if not self.st.old_tokens:
                return
            m, tok = rng.choice(self.st.old_tokens)
        if rng.random() < 0.3:
            tok = str(uuid.uuid4())
        with self.c.transaction():
            # In the outbox's lock order (sender, breaker, message), as complete_messages takes them.
            self.c.execute(
                "select from hookline.senders s where s.phone_number_id = "
                "(select phone_number_id from hookline.outbox where message_id = %s) for no key update",
                (m,),
            )
            self.c.execute(
                "select from hookline.circuit_breakers b where b.target = "
                "(select 'sender:' || phone_number_id from hookline.outbox where message_id = %s) for update",
                (m,),
            )
            before = self.c.execute(
                "select to_jsonb(o) from hookline.outbox o where message_id = %s for update", (m,)
            ).fetchone()
            if before is not None and before[0]["lease_token"] == tok:
                return  # not stale after all
            out = self.c.execute(
                "select outcome from hookline.complete_messages(%s)",
                (Jsonb([self.result(m, tok)]),),
            ).fetchall()
            after = self.c.execute(
                "select to_jsonb(o) from hookline.outbox o where message_id = %s", (m,)
            ).fetchone()
            if before != after:
                self.st.find(f"stale complete_messages of {m} changed its row: {before} -> {after}")
            if [o for (o,) in out] not in (["stale"], ["unknown"]):
                self.st.find(f"stale complete_messages of {m} answered {out}")

    def release(self) -> None:
        taken = self._take(self.rng.choice([1, 3, 10]))
        if not taken:
            return
        runner = taken[0][3] if self.rng.random() < 0.8 else "nobody"
        leases = [{"message_id": m, "lease_token": tok} for m, tok, *_ in taken]
        out = self.c.execute(
            "select hookline.release_messages(%s, %s)", (runner, Jsonb(leases))
        ).fetchall()
        token = {m: tok for m, tok, *_ in taken}
        with self.st.lock:
            self.st.released.update(token[m] for (m,) in out)

    def next_due(self) -> None:
        self.c.execute("select hookline.next_message_due()")

    def pause(self) -> None:
        self.c.execute(
            "select hookline.pause_sender(%s, 'fuzz')", (self.rng.choice(self.st.endpoints)[0],)
        )

    def resume(self) -> None:
        self.c.execute(
            "select hookline.resume_sender(%s)", (self.rng.choice(self.st.endpoints)[0],)
        )

    def breaker(self) -> None:
        self.c.execute(
            "select hookline.set_breaker(%s, %s, 'fuzz')",
            (
                f"sender:{self.rng.choice(self.st.endpoints)[0]}",
                self.rng.choice(["open", "closed", "auto", "auto"]),
            ),
        )

    def set_sender(self) -> None:
        rng = self.rng
        self.c.execute(
            "select hookline.set_sender(%s, messages_per_second => %s, pair_interval => %s::interval, "
            "pair_burst => %s, timeout_ms => %s)",
            (
                rng.choice(self.st.endpoints)[0],
                rng.choice([1, 2, 5, None]),
                rng.choice(["0.2 s", "1 s", None]),
                rng.choice([1, 3, None]),
                rng.choice([100, 1000, None]),
            ),
        )

    # --- status webhooks (docs/outbound.md, "States"): what WhatsApp reports on the copies it
    # got, through hookline.receive / receive_many as the ingress hands them over (the raw bytes
    # signed with the source's app secret), while the same messages are claimed, completed,
    # released, retried or final; unknown wamids, duplicates, any order, failed after
    # delivered, and statuses of one tenant's messages posted through the other's source.

    def status_item(self, wamid: str, word: str, m: int | None, to: str) -> dict:
        rng = self.rng
        item: dict = {
            "id": wamid,
            "status": word,
            "timestamp": str(1764000000 + rng.randrange(10**6)),  # any order
            "recipient_id": to.lstrip("+"),
        }
        if m is not None and rng.random() < 0.9:
            item["biz_opaque_callback_data"] = f"hookline:{m}"
        if word == "failed":
            code = rng.choice(FAILED_CODES)
            # A title of letters only (last_error masks digit runs): it tells whether this
            # status is the one that moved the message.
            tag = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(12))
            item["errors"] = [
                {"code": code, "title": f"fuzz {tag}", "error_data": {"details": "fuzz"}}
            ]
        elif rng.random() < 0.3:
            item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "utility"}
        return item

    def statuses(self) -> None:
        rng = self.rng
        st = self.st
        with st.lock:
            recent = st.created_list[-400:]
            cands = [m for m in recent if st.wamids.get(m)]
            others = rng.sample(recent, min(3, len(recent)))
            replays = rng.sample(st.posted, min(len(st.posted), rng.choice([0, 0, 0, 1, 2])))
        # Checked: the rows locked first, in the outbox's lock order, and compared after the
        # call. The locks come before the call's event keys then (receive_many takes the keys
        # first): its statuses are keyed apart (a group participant each, no duplicates), so
        # that no other call waits for its keys while it waits for their messages.
        checked = rng.random() < 0.4
        # Twice: one failed status (a transient or unknown code) of a message's current copy,
        # checked, through both apps of its tenant (in one group or two calls).
        twice = bool(cands) and rng.random() < 0.15
        if checked or twice:
            checked, replays = True, []
        numbers = [p for p, _ in st.endpoints]
        items: list[tuple[str, str, dict, int | None]] = []  # (source, phone, item, message)
        if twice:
            m = rng.choice(cands)
            pnid, tenant, to = st.msg[m]
            it = self.status_item(st.wamids[m][-1], "failed", m, to)
            it["errors"][0]["code"] = rng.choice([131000, 1, 999999])
            items.append((rng.choice([TENANTS[tenant], TWINS[TENANTS[tenant]]]), pnid, it, m))
        for _ in range(0 if twice else rng.choice([1, 1, 2, 3, 6])):
            word = rng.choices(STATUS_WORDS, weights=[3, 3, 3, 0.3, 2])[0]
            r = rng.random()
            if cands and r < 0.7:  # a copy of one of our messages, through either app of its tenant
                m = rng.choice(cands)
                pnid, tenant, to = st.msg[m]
                items.append(
                    (
                        rng.choice([TENANTS[tenant], TWINS[TENANTS[tenant]]]),
                        pnid,
                        # Its current copy mostly (a failed status of it counts).
                        self.status_item(
                            st.wamids[m][-1] if rng.random() < 0.5 else rng.choice(st.wamids[m]),
                            word,
                            m,
                            to,
                        ),
                        m,
                    )
                )
            elif cands and r < 0.85:  # the same, posted through the other tenant's source
                m = rng.choice(cands)
                pnid, tenant, to = st.msg[m]
                other = "beta" if tenant == "acme" else "acme"
                phone = (
                    pnid
                    if rng.random() < 0.6
                    else rng.choice([p for p in numbers if st.tenant_of[p] == other])
                )
                items.append(
                    (
                        TENANTS[other],
                        phone,
                        self.status_item(rng.choice(st.wamids[m]), word, m, to),
                        m,
                    )
                )
            elif cands and r < 0.9:  # our outbox id with another number, or an id we never had
                m = rng.choice(cands)
                pnid, tenant, to = st.msg[m]
                phone = rng.choice([p for p in numbers if st.tenant_of[p] == tenant])
                mid = m if phone != pnid else 10**12 + rng.randrange(1000)
                items.append(
                    (
                        TENANTS[tenant],
                        phone,
                        self.status_item(f"wamid.u{uuid.uuid4().hex[:12]}", word, mid, to),
                        m,
                    )
                )
            else:  # another system's message: stored as an event, nothing else
                phone = rng.choice(numbers)
                items.append(
                    (
                        st.source_of[phone],
                        phone,
                        self.status_item(
                            f"wamid.x{uuid.uuid4().hex[:12]}", word, None, RECIPIENTS[0]
                        ),
                        None,
                    )
                )
        if checked:
            for *_, it, _m in items:
                it["recipient_participant_id"] = f"p{uuid.uuid4().hex[:12]}"
        requests: list[tuple[str, bytes]] = []
        for source in sorted({src for src, *_ in items}):
            mine = [(phone, item, m) for src, phone, item, m in items if src == source]
            # One request, or one per item (the ingress groups requests in one receive_many).
            for part in [mine] if rng.random() < 0.6 else [[x] for x in mine]:
                by_phone: dict[str, list[dict]] = collections.defaultdict(list)
                for phone, item, _m in part:
                    by_phone[phone].append(item)
                body = {
                    "object": "whatsapp_business_account",
                    "entry": [
                        {
                            "id": f"waba-{TENANT_OF_SOURCE[source]}",
                            "changes": [
                                {
                                    "field": "messages",
                                    "value": {
                                        "messaging_product": "whatsapp",
                                        "metadata": {
                                            "display_phone_number": "15550001000",
                                            "phone_number_id": phone,
                                        },
                                        "statuses": its,
                                    },
                                }
                                for phone, its in by_phone.items()
                            ],
                        }
                    ],
                }
                raw = json.dumps(body, separators=(",", ":")).encode()
                requests.append((source, raw))
                # The same request to the tenant's other app: in this group (the ingress got
                # both at once), or posted by another session, concurrently or later.
                # A checked call's twin is checked too: its keys (with a participant) are
                # posted by no other call (a replay keeps such a request's source).
                if twice or rng.random() < 0.3:
                    if rng.random() < 0.5:
                        requests.append((TWINS[source], raw))
                    else:
                        twin = [(TWINS[source], phone, item, m) for phone, item, m in part]
                        with st.lock:
                            st.twins = [
                                *st.twins[-300:],
                                (TWINS[source], raw, twin if checked else None),
                            ]
        # Duplicates: Meta's retries, or the copy of the tenant's other app.
        replays = [
            (
                TWINS[src]
                if rng.random() < 0.3 and b"recipient_participant_id" not in raw
                else src,
                raw,
            )
            for src, raw in replays
        ]
        requests += replays
        rng.shuffle(requests)
        targets = sorted({m for *_, m in items if m is not None})
        watched = sorted(set(targets) | set(others))
        # A failed status of the message's current copy (its wamid, learnt from the status
        # when it had none) that queued it again: the next send is no duplicate. Not one of
        # another copy: that one's send would be.
        titles = collections.defaultdict(list)
        for *_, it, m in items:
            if m is not None and "errors" in it:
                titles[m].append((it["errors"][0]["title"], it["id"]))
        if not checked and rng.random() < 0.2:
            # One request per call and transaction (as the ingress stores a lone request).
            for source, raw in requests:
                with self.c.transaction():
                    self.c.execute(
                        "select * from hookline.receive(%s, %s::jsonb, %s, %s)",
                        (source, raw.decode(), raw, Jsonb(self.headers(source, raw))),
                    )
                    self.requeued(watched, titles)
                self.stored(items, [(source, raw)], [], targets)
            return
        self.post(requests, items, watched, titles, checked)
        self.stored(items, requests, replays, targets)

    def post(
        self, requests: list, items: list, watched: list[int], titles: dict, checked: bool
    ) -> None:
        """One receive_many call of the requests, in a transaction; checked: the watched rows
        (and their senders and breakers) locked first, in the outbox's lock order, and
        compared after the call."""
        with self.c.transaction():
            before: dict = {}
            breakers: dict = {}
            if checked:
                # The outbox's lock order (senders, breakers, messages), then the rows as they
                # were: the call must change only what the statuses are about.
                self.c.execute(
                    "select from hookline.senders s where s.phone_number_id in (select phone_number_id "
                    "from hookline.outbox where message_id = any(%s)) order by s.phone_number_id for no key update",
                    (watched,),
                )
                breakers = dict(
                    self.c.execute(
                        "select b.target, b.consecutive_failures from hookline.circuit_breakers b "
                        "where b.target in (select 'sender:' || phone_number_id from hookline.outbox "
                        "where message_id = any(%s)) order by b.target for update",
                        (watched,),
                    ).fetchall()
                )
                before = dict(
                    self.c.execute(
                        "select message_id, to_jsonb(o) from hookline.outbox o where message_id = any(%s) "
                        "order by message_id for update",
                        (watched,),
                    ).fetchall()
                )
            rows = self.c.execute(
                "select ord, error_code, error_message from hookline.receive_many("
                "sources => %s::text[], bodies => %s::text[], raws => %s::bytea[], headers => %s::jsonb[])",
                (
                    [src for src, _ in requests],
                    [raw.decode() for _, raw in requests],
                    [raw for _, raw in requests],
                    [Jsonb(self.headers(src, raw)) for src, raw in requests],
                ),
            ).fetchall()
            bad = [r for r in rows if r[1] is not None]
            if bad:
                self.st.find(f"receive_many refused status webhooks: {bad}")
            after = self.requeued(watched, titles)
            if checked:
                self.check_statuses(items, before, after)
                self.check_counted_once(items, before, after, breakers)

    def twin_statuses(self) -> None:
        """A request another session posted (or is posting), now through the tenant's other
        app (source): WhatsApp's copy for the second app subscribed to the WABA. The twin of a
        checked call is checked (its rows locked first and compared after)."""
        with self.st.lock:
            if not self.st.twins:
                return
            source, raw, items = self.st.twins.pop(self.rng.randrange(len(self.st.twins)))
        targets = sorted({m for *_, m in items or [] if m is not None})
        titles = collections.defaultdict(list)
        for *_, it, m in items or []:
            if m is not None and "errors" in it:
                titles[m].append((it["errors"][0]["title"], it["id"]))
        self.post([(source, raw)], items or [], targets, titles, items is not None)
        self.stored(items or [], [(source, raw)], [], targets)

    def check_counted_once(self, items: list, before: dict, after: dict, breakers: dict) -> None:
        """Under the locks taken before the call: a failed status counts once for its tenant,
        however many of the tenant's apps (sources) posted it in the group. A message gained
        at most one attempt per distinct failed status about it (its wamid, or its outbox id,
        through a source of its tenant and its number), and its number's breaker at most one
        failure in a row per distinct failed status about the number's messages."""
        failed: dict[int, set] = collections.defaultdict(set)
        for m, b in before.items():
            for src, phone, it, _ in items:
                if (
                    it["status"] == "failed"
                    and TENANT_OF_SOURCE[src] == b["tenant_id"]
                    and phone == b["phone_number_id"]
                    and (
                        it["id"] == b["wamid"]
                        or it.get("biz_opaque_callback_data") == f"hookline:{m}"
                    )
                ):
                    failed[m].add((it["id"], it.get("recipient_participant_id")))
                    with self.st.lock:
                        self.st.via[(m, it["id"], it.get("recipient_participant_id"))].add(src)
        by_sender: dict[str, set] = collections.defaultdict(set)
        for m, b in before.items():
            a = after.get(m)
            by_sender[f"sender:{b['phone_number_id']}"] |= failed[m]
            if a is not None and len(failed[m]) == 1:
                with self.st.lock:
                    self.st.counted[(m, *next(iter(failed[m])))] += (
                        a["attempt_count"] - b["attempt_count"]
                    )
            if a is not None and a["attempt_count"] - b["attempt_count"] > len(failed[m]):
                self.st.find(
                    f"message {m}: {a['attempt_count'] - b['attempt_count']} attempts counted for "
                    f"{len(failed[m])} failed statuses ({b['state']} -> {a['state']}: {a['last_error']})"
                )
        now = dict(
            self.c.execute(
                "select target, consecutive_failures from hookline.circuit_breakers where target = any(%s)",
                (list(breakers),),
            ).fetchall()
        )
        for target, n0 in breakers.items():
            n1 = now.get(target, n0)
            if n1 - n0 > len(by_sender[target]):
                self.st.find(
                    f"breaker {target}: {n1 - n0} failures counted for {len(by_sender[target])} failed statuses"
                )

    def requeued(self, watched: list[int], titles: dict) -> dict:
        """The watched rows, read in the call's transaction (the rows it moved are locked
        until the commit); counts the messages a failed status of their current copy queued
        again."""
        after = dict(
            self.c.execute(
                "select message_id, to_jsonb(o) from hookline.outbox o where message_id = any(%s)",
                (watched,),
            ).fetchall()
        )
        with self.st.lock:
            for m, row in after.items():
                last = row["last_error"] or ""
                if row["state"] in ("queued", "unconfirmed") and any(
                    t in last and w == row["wamid"] for t, w in titles[m]
                ):
                    self.st.requeued[m] += 1
        return after

    def stored(self, items: list, requests: list, replays: list, targets: list[int]) -> None:
        """Committed: every status of these requests is an event now."""
        with self.st.lock:
            for source, raw in requests:
                for entry in json.loads(raw)["entry"]:
                    for change in entry["changes"]:
                        for it in change["value"]["statuses"]:
                            key = f"{it['id']}:{it['status']}"
                            if "recipient_participant_id" in it:
                                key += f":{it['recipient_participant_id']}"
                            self.st.expected.add((source, key))
            self.st.posted += [r for r in requests if r not in replays]
            self.st.posted = self.st.posted[-300:]
            self.st.touched.update(targets)

    def headers(self, source: str, raw: bytes) -> dict:
        sig = hmac.new(self.st.secrets[source].encode(), raw, hashlib.sha256).hexdigest()
        return {"content-type": "application/json", "x-hub-signature-256": f"sha256={sig}"}

    def check_statuses(self, items: list, before: dict, after: dict) -> None:
        """Under the locks taken before the call: a message no status is about (another
        tenant's source, another number, another message's wamid) is unchanged; a final message
        does not move; sent < delivered < read never goes back; a message in flight is never
        due sooner (its runner may be sending it: not before its lease ends), nor a queued one
        (a throttle's or the pair limit's wait); a sent message is queued again only by a
        failed status of its current copy (its wamid)."""
        rank = {"sent": 1, "delivered": 2, "read": 3}
        for m, b in before.items():
            a = after.get(m)
            if a is None:
                self.st.find(f"message {m} vanished under a status webhook")
                continue
            about = [
                it
                for src, phone, it, _ in items
                if TENANT_OF_SOURCE[src] == b["tenant_id"]
                and phone == b["phone_number_id"]
                and (
                    it["id"] == b["wamid"] or it.get("biz_opaque_callback_data") == f"hookline:{m}"
                )
            ]
            if a == b:
                continue
            bs, as_ = b["state"], a["state"]
            if not about:
                near = [
                    (src, phone, it["id"], it.get("biz_opaque_callback_data"))
                    for src, phone, it, mm in items
                    if mm == m
                ]
                self.st.find(
                    f"statuses of other messages changed message {m} of {b['tenant_id']}/"
                    f"{b['phone_number_id']} ({b['wamid']}): {bs} -> {as_} ({a['last_error']}); "
                    f"statuses {near}"
                )
            elif bs in ("failed", "read"):
                self.st.find(f"a status moved final message {m}: {bs} -> {as_}")
            elif bs in rank and as_ in rank and rank[as_] < rank[bs]:
                self.st.find(f"a status moved message {m} back: {bs} -> {as_}")
            elif bs == "delivered" and as_ not in rank:
                self.st.find(f"a status moved delivered message {m} to {as_}")
            elif (
                bs in ("sending", "queued")
                and as_ in ("queued", "unconfirmed", "sending")
                and (as_ == "sending" or due(a) < due(b))
            ):
                self.st.find(
                    f"a status made message {m} ({bs} until {b['next_attempt_at']}) due sooner "
                    f"({as_} at {a['next_attempt_at']}: {a['last_error']})"
                )
            elif (
                bs == "sent"
                and as_ in ("queued", "unconfirmed")
                and not any(it["status"] == "failed" and it["id"] == b["wamid"] for it in about)
            ):
                self.st.find(
                    f"a failed status of another copy queued sent message {m} again ({b['wamid']}: {a['last_error']})"
                )

    # --- a handler's role (docs/outbound.md, docs/security.md): hookline_sender, mapped to
    # one tenant, sends only through its tenant's sources; the other tenant's source is
    # unknown (HL001) and the other tenant's number is no sender of its source (HL060);
    # a refused call writes nothing; every audit row of its transaction is of its tenant.

    def as_sender(self) -> None:
        rng = self.rng
        st = self.st
        tenant = rng.choice(list(SENDER_ROLES))
        pnid = rng.choice(st.endpoints)[0]
        source = st.source_of[pnid] if rng.random() < 0.7 else rng.choice(list(TENANTS.values()))
        to, key = rng.choice(RECIPIENTS), f"role{rng.randrange(10**9)}"
        err: psycopg.Error | None = None
        mid = None
        with self.c.transaction():
            self.c.execute(f"set local role {SENDER_ROLES[tenant]}")
            try:
                with self.c.transaction():
                    mid = self.c.execute(
                        "select hookline.send_message(%s, %s, %s, %s, phone_number_id => %s)",
                        (source, to, Jsonb(TEXT), key, pnid),
                    ).fetchone()[0]
            except psycopg.Error as e:
                err = e
            self.c.execute("reset role")
            wrong = self.c.execute(
                "select action, tenant_id from hookline.audit_log where xmin::text = "
                "(pg_current_xact_id()::xid)::text and tenant_id is distinct from %s",
                (tenant,),
            ).fetchall()
            if wrong:
                st.find(f"{tenant}'s send_message wrote audit rows of other tenants: {wrong}")
        rows = self.c.execute(
            "select message_id, tenant_id, phone_number_id from hookline.outbox where idempotency_key = %s",
            (key,),
        ).fetchall()
        what = f"{tenant}'s send_message through {source} ({pnid})"
        if TENANTS[tenant] != source:
            if (
                err is None
                or err.sqlstate != "HL001"
                or err.diag.message_primary != f"unknown source '{source}'"
            ):
                st.find(f"{what}, another tenant's source: {err.sqlstate if err else mid} ({err})")
        elif st.source_of[pnid] != source:
            if err is None or err.sqlstate != "HL060":
                st.find(f"{what}, another source's number: {err.sqlstate if err else mid} ({err})")
        elif err is not None:
            raise err
        if err is not None and rows:
            st.find(f"{what} was refused ({err.sqlstate}) and wrote {rows}")
        if err is None:
            if rows != [(mid, tenant, pnid)]:
                st.find(f"{what} returned {mid} and wrote {rows}")
            self.created([(mid, pnid, to)])


OutboxSession.OPS = [OutboxSession.send, OutboxSession.claim, OutboxSession.complete, OutboxSession.stale_complete,
                     OutboxSession.release, OutboxSession.next_due, OutboxSession.pause, OutboxSession.resume,
                     OutboxSession.breaker, OutboxSession.set_sender, OutboxSession.statuses,
                     OutboxSession.as_sender, OutboxSession.twin_statuses]  # fmt: skip
# Sends at about what the senders' limits let out, so that seconds are full at times, not always.
OutboxSession.WEIGHTS = [1.5, 30, 30, 4, 4, 3, 2, 3, 3, 3, 12, 1, 4]
OutboxSession.SAFE = {"send", "claim", "complete", "stale_complete", "next_due", "as_sender"}

LEFT = "select count(*) from hookline.outbox where state in ('queued', 'sending', 'unconfirmed')"


def drain(dsn: str, st: OutboxState) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        for pnid, _ in st.endpoints:
            c.execute("select hookline.resume_sender(%s)", (pnid,))
            c.execute("select hookline.set_breaker(%s, 'closed', 'drain')", (f"sender:{pnid}",))
            c.execute(
                "select hookline.set_sender(%s, messages_per_second => 10000, pair_interval => '0.01 s', pair_burst => 100)",
                (pnid,),
            )
        t_end = time.monotonic() + 300
        while time.monotonic() < t_end:
            if not c.execute(LEFT).fetchone()[0]:
                break
            with c.transaction():
                rows = c.execute(
                    "select message_id, lease_token::text, phone_number_id from hookline.claim_messages('drain', 500, '2 s')"
                ).fetchall()
                at = {
                    m: (t, seq)
                    for m, t, seq in c.execute(
                        "select message_id, last_claimed_at, nextval('fuzz_claims') from hookline.outbox where message_id = any(%s)",
                        ([r[0] for r in rows],),
                    )
                }
            with st.lock:
                st.claims += [
                    (p, at[m][0], m, None, 10000, None, None, at[m][1], t) for m, t, p in rows
                ]
            if not rows:
                time.sleep(0.05)
                continue
            out = c.execute(
                "select message_id, outcome from hookline.complete_messages(%s)",
                (
                    Jsonb(
                        [
                            {
                                "message_id": m,
                                "lease_token": t,
                                "status_code": 200,
                                "wamid": f"wamid.d{m}",
                            }
                            for m, t, _ in rows
                        ]
                    ),
                ),
            ).fetchall()
            for m, o in out:
                if o != "sent":
                    st.find(f"drain complete_messages of {m} answered {o}")
                else:
                    st.succeeded[m] += 1
        left = c.execute(LEFT).fetchone()[0]
        if left:
            st.find(f"drain: {left} messages still queued, sending or unconfirmed after 300 s")


def audit(dsn: str, st: OutboxState) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        states = dict(c.execute("select message_id, state::text from hookline.outbox").fetchall())
        stored = set(
            c.execute(
                "select s.name, e.external_id from hookline.events e join hookline.sources s using (source_id) "
                "where e.event_type like 'whatsapp.status.%'"
            ).fetchall()
        )
    lost = [m for m in st.created if m not in states]
    if lost:
        st.find(f"{len(lost)} messages vanished: {lost[:10]}")
    unfinished = collections.Counter(
        states[m]
        for m in st.created
        if states.get(m) not in (None, "sent", "delivered", "read", "failed", "dead")
    )
    if unfinished:
        st.find(f"messages not in a final state after the drain: {dict(unfinished)}")
    # Sent once, or once more after each failed status of its current copy that queued it again.
    twice = [m for m, n in st.succeeded.items() if n > 1 + st.requeued[m]]
    if twice:
        st.find(f"{len(twice)} messages answered sent twice: {twice[:10]}")
    wrong = [
        m
        for m, n in st.succeeded.items()
        if n == 1 and states.get(m) not in ("sent", "delivered", "read") and m not in st.touched
    ]
    if wrong:
        st.find(
            f"{len(wrong)} messages answered sent but now {[states.get(m) for m in wrong[:5]]}: {wrong[:5]}"
        )
    missing = st.expected - stored
    if missing:
        st.find(f"{len(missing)} status webhooks stored without their event: {sorted(missing)[:5]}")
    # A failed status posted through both apps of the tenant (in one group, or in two calls,
    # concurrently) counted one attempt in all.
    more = [(k, n) for k, n in st.counted.items() if n > 1]
    if more:
        st.find(f"{len(more)} failed statuses counted more than once over both apps: {more[:5]}")
    check_limits(st)
    print(
        f"audit: created {len(st.created)}, claims {len(st.claims)}, status events {len(st.expected)}, "
        f"sent again after a failed status {sum(st.requeued.values())}, "
        f"checked failed statuses posted through both apps {sum(len(v) > 1 for v in st.via.values())} "
        f"(counting {sum(len(st.via[k]) > 1 and n > 0 for k, n in st.counted.items())}), "
        f"states {dict(collections.Counter(states.values()))}"
    )


def check_limits(st: OutboxState) -> None:
    """The sliding-second rate and the pair limit, over every claim seen. A claim at t (its
    rows' last_claimed_at: the clock after its sender's locks) that saw limit L, and the
    claims of its sender made before it (under the sender's lock): no more than L of them,
    itself included, after t - 1 s; no more than pair_burst sends to its recipient (a retry
    of a message counts as one more: WhatsApp counts what reaches it) after
    t - pair_interval * pair_burst. Claims given back by release_messages were not sent and
    do not count."""
    second = datetime.timedelta(seconds=1)
    by_sender: dict[str, list[tuple]] = collections.defaultdict(list)
    for claim in st.claims:
        by_sender[claim[0]].append(claim)
    over_rate = over_pair = 0
    for pnid, claims in by_sender.items():
        claims.sort(key=lambda x: x[7])
        claims = [x for x in claims if x[8] not in st.released]  # not sent: not counted
        for _, at, m, to, limit, pint, pburst, seq, _ in claims:
            before = [x for x in claims if x[7] <= seq and x[1] > at - second]
            if len(before) > limit:
                over_rate += 1
                if over_rate <= 5:
                    window = sorted((x[1].time().isoformat(), x[2]) for x in before)
                    st.find(
                        f"sender {pnid}: claim of {m} at {at} is the {len(before)}th in a second > limit {limit}: {window}"
                    )
            if to is None:
                continue
            pair = [
                x[2] for x in claims if x[7] <= seq and x[3] == to and x[1] > at - pint * pburst
            ]
            if len(pair) > pburst:
                over_pair += 1
                if over_pair <= 5:
                    st.find(
                        f"sender {pnid} to {to}: {len(pair)} sends within {pint * pburst} up to {at} > pair_burst {pburst}: {pair}"
                    )
    print(f"limits: {over_rate} claims over the rate, {over_pair} over the pair limit")


def main() -> None:
    run(arguments("senders"), OutboxState(), setup, OutboxSession, drain, audit)


if __name__ == "__main__":
    main()
