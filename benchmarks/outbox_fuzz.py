"""A randomized concurrency fuzz of the outbox (outbound WhatsApp messages), the sibling of
delivery_fuzz.py (docs/outbound.md, "Lock order"): the same harness (private server, sessions,
crashes, findings), other operations. Not a test: it runs for minutes and is not in the suite.

    python benchmarks/outbox_fuzz.py [--sessions 6] [--seconds 120] [--senders 8]
        [--seed 1] [--restart-every 0] [--functions OTHER/functions]

It adds a WhatsApp source and `--senders` senders (1 to 5 messages per second, pair limits of
1 to 3 per 0.2 to 1 s, retry schedules of 0.05 to 0.5 s, unconfirmed waits of 0.3 s, breakers
that open after 3 failures and cool down in 0.3 or 1 s, 1 or 2 probes), and runs sessions that
call, at random: send_message (1 to 4 messages to 12 recipients, some idempotency keys
repeated), claim_messages (runners r1-r4, max_rows 1 to 200, leases of 0.2 to 5 s, some in a
transaction that began up to 0.3 s earlier), complete_messages (batches of 1 to 40 leases of
any session: 2xx with and without wamid, 5xx, 429, 400 with Graph codes, timeouts, refused
connections, Retry-After, repeated and late results, unknown ids, shuffled), release_messages
(sometimes by the wrong runner), next_message_due, pause_sender and resume_sender, set_sender
(messages_per_second, pair limits, timeout) and set_breaker (open, closed, auto) on senders.

Checked: no error but a documented HLxxx (a 40P01 is a finding); in each claim's own
transaction, while it holds its senders' locks, every sender it claimed from is active, not
throttled, not behind an open breaker (one unchanged for 50 ms) and, half-open, has no more
leases than its probes; a late result changes nothing and answers stale or unknown. After the
run, over every claim the sessions saw (on the database clock, the `now` the claim counted
from): no sender had more claims in any sliding second (t - 1 s, t] than the limit the claim
at t saw, and no recipient got more than pair_burst messages (other than the same message
again) within pair_interval * pair_burst. At the end, faults stop, every sender is resumed,
its limits raised and its breaker closed, and one session claims and completes 2xx until no
message is queued, sending or unconfirmed; then every message the sessions saw queued must be
sent, failed or dead, and no message may have been answered `sent` twice.
"""

from __future__ import annotations

import collections
import datetime
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


def setup(dsn: str, n_senders: int, rng: random.Random, st: OutboxState) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(
            "select hookline.add_source(tenant_id => 'acme', name => 'wa', kind => 'whatsapp', "
            "secret => %s, verify_token => 'v', create_tenant => true)",
            (os.urandom(16).hex(),),
        )
        for i in range(n_senders):
            pnid = str(1000 + i)
            c.execute(
                "select hookline.add_sender('wa', %s, 'EAAG-fuzz', messages_per_second => %s, "
                "pair_interval => %s::interval, pair_burst => %s, unconfirmed_wait => '0.3 s', "
                "timeout_ms => %s, retry_schedule => %s::interval[])",
                (
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
        c.execute("create sequence fuzz_claims")


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
                    self.c.execute(
                        "select hookline.send_message('wa', %s, %s, %s, phone_number_id => %s)",
                        (to, Jsonb(TEXT), key, pnid),
                    ).fetchone()[0]
                )
        with self.st.lock:
            for m in ids:
                if m not in self.st.created:
                    self.st.created[m] = 0
                    self.st.created_list.append(m)

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
                  b.state, b.is_forced, b.open_until, b.probes, now(), pg_xact_commit_timestamp(b.xmin)
                from hookline.senders s
                left join hookline.circuit_breakers b on b.target = 'sender:' || s.phone_number_id
                where s.phone_number_id = any(%s)
                """,
                (sorted({r[2] for r in rows}),),
            ).fetchall()
            limits = {}
            for pnid, state, throttled, limit, pint, pburst, leased, bstate, forced, until, probes, now, bcommit in checks:  # fmt: skip
                limits[pnid] = (limit, pint, pburst)
                if state != "active":
                    self.st.find(f"claim_messages claimed from sender {pnid} in state {state}")
                if throttled is not None and throttled > now:
                    self.st.find(
                        f"claim_messages claimed from sender {pnid} throttled until {throttled}"
                    )
                stable = bcommit is not None and bcommit < t0 - datetime.timedelta(milliseconds=50)
                if bstate == "open" and (forced or until > now) and stable:
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
        with self.st.lock:
            for m, o in out:
                if o == "sent":
                    self.st.succeeded[m] += 1

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


OutboxSession.OPS = [OutboxSession.send, OutboxSession.claim, OutboxSession.complete, OutboxSession.stale_complete,
                     OutboxSession.release, OutboxSession.next_due, OutboxSession.pause, OutboxSession.resume,
                     OutboxSession.breaker, OutboxSession.set_sender]  # fmt: skip
# Sends at about what the senders' limits let out, so that seconds are full at times, not always.
OutboxSession.WEIGHTS = [1.5, 30, 30, 4, 4, 3, 2, 3, 3, 3]
OutboxSession.SAFE = {"send", "claim", "complete", "stale_complete", "next_due"}

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
    lost = [m for m in st.created if m not in states]
    if lost:
        st.find(f"{len(lost)} messages vanished: {lost[:10]}")
    unfinished = collections.Counter(
        states[m] for m in st.created if states.get(m) not in (None, "sent", "failed", "dead")
    )
    if unfinished:
        st.find(f"messages not in a final state after the drain: {dict(unfinished)}")
    twice = [m for m, n in st.succeeded.items() if n > 1]
    if twice:
        st.find(f"{len(twice)} messages answered sent twice: {twice[:10]}")
    wrong = [m for m, n in st.succeeded.items() if n == 1 and states.get(m) != "sent"]
    if wrong:
        st.find(
            f"{len(wrong)} messages answered sent but now {[states.get(m) for m in wrong[:5]]}: {wrong[:5]}"
        )
    check_limits(st)
    print(
        f"audit: created {len(st.created)}, claims {len(st.claims)}, "
        f"states {dict(collections.Counter(states.values()))}"
    )


def check_limits(st: OutboxState) -> None:
    """The sliding-second rate and the pair limit, over every claim seen. A claim at `now` t
    (its transaction's start, the database clock it counts from) that saw limit L, and the
    claims of its sender made before it (under the sender's lock): no more than L of them,
    itself included, after t - 1 s; no more than pair_burst messages to its recipient
    (the same message again counts once) after t - pair_interval * pair_burst. Claims
    given back by release_messages were not sent and do not count."""
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
            pair = {
                x[2] for x in claims if x[7] <= seq and x[3] == to and x[1] > at - pint * pburst
            }
            if len(pair) > pburst:
                over_pair += 1
                if over_pair <= 5:
                    st.find(
                        f"sender {pnid} to {to}: {len(pair)} messages within {pint * pburst} up to {at} > pair_burst {pburst}"
                    )
    print(f"limits: {over_rate} claims over the rate, {over_pair} over the pair limit")


def main() -> None:
    run(arguments("senders"), OutboxState(), setup, OutboxSession, drain, audit)


if __name__ == "__main__":
    main()
