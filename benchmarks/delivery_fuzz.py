"""A randomized concurrency fuzz of the delivery functions: what testers who call the SQL API
from many sessions at once would find (docs/delivery.md, "Lock order"). Not a test: it runs for
minutes, its operations are random, and it is not part of the suite.

    python benchmarks/delivery_fuzz.py [--sessions 8] [--seconds 180] [--endpoints 40]
        [--seed 1] [--restart-every 0] [--functions OTHER/functions]

It starts a private PostgreSQL of its own (`hookline.pgcluster.LocalPostgres`, in a temporary
folder, with `track_commit_timestamp` on), deploys this checkout, adds `--endpoints` endpoints
(max_in_flight 1 to 5, timeouts of 100 ms to 1 s, short retry schedules, breakers that open
after 3 failures and cool down in 0.3 or 1 s, 1 to 3 probes), and runs `--sessions` sessions
that each call, at random: ingest (1 to 4 events, some keys repeated), claim (runners r1-r4,
max_rows 1 to 200, so more endpoints are due than max_rows; leases of 0.2 to 5 s, some in a
transaction that began up to 0.3 s earlier), complete (batches of 1 to 60 leases taken from any
session, 2xx/4xx/5xx/410/429/timeouts/refused, Retry-After, repeated results, late tokens of
earlier leases, unknown ids, shuffled), release (sometimes by the wrong runner), rescue_leases,
wake_due_retries, next_due, replay and discard of random ids, pause and resume, set_breaker
(open, closed, auto), set_endpoint (max_in_flight, timeout), add_endpoint (up to 200),
remove_endpoint (mostly of endpoints added while running), remove_subscription (then adding it
again), the source `tmp` added, subscribed to and removed while events of it are ingested, and,
as the operator role of one of two tenants (`grant_tenant`; endpoints of both, events of each
tenant's source), replay, discard, pause, resume, set_endpoint and dead_letter_page of rows of
either tenant.
With `--restart-every N` it stops the server immediately (a crash) every N seconds and starts
it again (the server is then durable; sessions reconnect). `--functions OTHER/functions`
deploys another version's functions over this checkout's migrations (to see a finding on the
code before its fix, as docs/performance.md's A/B does).

Checked while it runs: no error but a documented HLxxx (a 40P01, 40001, 23xxx or XX000 is a
finding); in each claim's own transaction, while it still holds its endpoints' locks, every
endpoint it leased from is active, has no more unexpired leases than max_in_flight, is not
behind an open breaker (one that did not change for 50 ms before the claim) and, half-open, has
no more than its probes; a complete of a late or random token, its row locked first, changes
nothing and answers stale or unknown; a tenant's operator never acts on (nor pages) the
other tenant's rows, and every audit row its transaction writes is of its tenant. At the end, faults stop, every endpoint is resumed and
its breaker forced closed, and one session claims and completes 2xx until the queue is empty
(a claim that returns nothing for more than 1.5 s while a delivery is due at an endpoint with
room is a finding); then every delivery the sessions saw created must be delivered, dead or
discarded, exactly once. It prints the operations, the errors by SQLSTATE and the findings, and
exits 1 when there are findings.

Harness note: a session that ingests several events in one transaction does so in key order, as
one ingest call would (repeated keys in another order deadlock by design).
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from hookline.migrator import Migrator
from hookline.pgcluster import LocalPostgres

STATUSES = [200, 200, 200, 204, 500, 503, 502, 404, 400, 410, 429, 408, 409, 301, None, None]
ERRORS = ["timeout", "connect", "network", "refused"]


class State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.created: dict[int, int] = {}  # delivery_id -> endpoint_id
        self.created_list: list[int] = []
        self.pool: list[tuple[int, str, int, str, float]] = []  # leases handed out
        self.old_tokens: list[tuple[int, str]] = []
        self.succeeded: collections.Counter[int] = collections.Counter()
        self.findings: list[str] = []
        self.ops: collections.Counter[str] = collections.Counter()
        self.errs: collections.Counter[str] = collections.Counter()
        self.endpoints: list[tuple[int, str]] = []
        self.tenant_of: dict[int | str, str] = {}  # endpoint id and name -> tenant
        self.removed: set[int] = set()  # endpoints removed
        self.rows_claimed = 0
        self.stop = False
        self.restarting = False
        self.restarts = 0
        self.faults = True

    def find(self, msg: str) -> None:
        with self.lock:
            self.findings.append(msg)
        print("FINDING:", msg, flush=True)


# Two tenants, each with its source, endpoints and an operator role mapped to it alone.
TENANTS = {"acme": "src", "beta": "srcb"}
ROLES = {"acme": "fuzz_acme_ops", "beta": "fuzz_beta_ops"}


def add_source(c: psycopg.Connection, tenant: str, name: str) -> None:
    c.execute(
        "select hookline.add_source(tenant_id => %s, name => %s, kind => 'standard-webhooks', "
        "secret => %s, create_tenant => true)",
        (tenant, name, "whsec_" + base64.b64encode(os.urandom(24)).decode()),
    )


def setup(dsn: str, n_endpoints: int, rng: random.Random, st: State) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        for tenant, source in TENANTS.items():
            add_source(c, tenant, source)
            c.execute(f"create role {ROLES[tenant]} nologin in role hookline_operator")
            c.execute("select hookline.grant_tenant(%s, %s, 'fuzz')", (ROLES[tenant], tenant))
        for i in range(n_endpoints):
            add_endpoint(c, rng, st, i)


def add_endpoint(c: psycopg.Connection, rng: random.Random, st: State, i: int | str) -> None:
    name = f"e{i}"
    tenant = "beta" if rng.random() < 0.3 else "acme"
    eid = c.execute(
        "select endpoint_id from hookline.add_endpoint(tenant => %s, name => %s, url => %s, "
        "timeout_ms => %s, max_in_flight => %s, retry_schedule => %s::interval[])",
        (
            tenant,
            name,
            f"http://127.0.0.1:9/{name}",
            rng.choice([100, 300, 1000]),
            rng.choice([1, 1, 2, 3, 5]),
            rng.choice(
                [
                    "{0.05 s, 0.2 s, 0.5 s, 1 s}",
                    "{0.01 s}",
                    "{}",
                    "{0.3 s, 0.3 s, 0.3 s, 0.3 s, 0.3 s, 0.3 s}",
                ]
            ),
        ),
    ).fetchone()[0]
    c.execute(
        "select hookline.add_subscription(endpoint => %s, event_type_pattern => %s)",
        (name, f"fz.{name}"),
    )
    if rng.random() < 0.3:
        c.execute(
            "select hookline.add_subscription(endpoint => %s, event_type_pattern => 'fz.all')",
            (name,),
        )
    c.execute(
        "select hookline.configure_breaker(target => %s, min_requests => 4, max_consecutive_failures => 3, "
        "base_cooldown => %s::interval, max_cooldown => '3 s', probes => %s, window_length => '5 s')",
        (f"endpoint:{eid}", rng.choice(["0.3 s", "1 s"]), rng.choice([1, 2, 3])),
    )
    with st.lock:
        st.endpoints.append((eid, name))
        st.tenant_of[eid] = st.tenant_of[name] = tenant


def sqlstate(e: BaseException) -> str:
    return getattr(e, "sqlstate", None) or type(e).__name__


class Session(threading.Thread):
    """One fuzzing session: calls its class's OPS at random (weights WEIGHTS; only SAFE ones
    once faults stop), reconnecting after a restart; an error but a documented HLxxx is a finding."""

    OPS: list = []
    WEIGHTS: list[float] = []
    SAFE: set[str] = set()

    def __init__(self, idx: int, dsn: str, st: State, seed: int) -> None:
        super().__init__(daemon=True)
        self.idx = idx
        self.dsn = dsn
        self.st = st
        self.rng = random.Random(seed * 1000 + idx)

    def run(self) -> None:
        while not self.st.stop:
            try:
                with psycopg.connect(self.dsn, autocommit=True) as c:
                    self.c = c
                    self.loop(c)
            except psycopg.OperationalError:
                time.sleep(0.2)

    def loop(self, c: psycopg.Connection) -> None:
        while not self.st.stop:
            op = self.rng.choices(self.OPS, weights=self.WEIGHTS)[0]
            if not self.st.faults and op.__name__ not in self.SAFE:
                continue
            try:
                op(self)
                self.st.ops[op.__name__] += 1
            except psycopg.Error as e:
                code = sqlstate(e)
                if (
                    c.closed
                    or c.broken
                    or self.st.restarting
                    or code in ("57P01", "57P02", "57P03", "08006", "08003")
                ):
                    self.st.errs[f"{op.__name__}:restart:{code}"] += 1
                    if c.closed or c.broken:
                        return
                    try:
                        c.rollback()
                    except psycopg.Error:
                        return
                    continue
                if c.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    c.rollback()
                self.st.errs[f"{op.__name__}:{code}"] += 1
                if not code.startswith("HL"):
                    self.st.find(f"{op.__name__} raised {code}: {e}".replace("\n", " | ")[:1500])
            except Exception:
                self.st.find(f"{op.__name__} crashed: {traceback.format_exc()}")
                if c.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    c.rollback()

    # --- operations --------------------------------------------------------------------

    def ingest(self) -> None:
        rng = self.rng
        eps = list(self.st.endpoints)
        n = rng.choice([1, 1, 2, 4])
        types = ["fz.all" if rng.random() < 0.05 else f"fz.{rng.choice(eps)[1]}" for _ in range(n)]
        # The events of an endpoint's tenant's source; fz.all and fz.tmp from any source.
        sources = [
            rng.choice([*TENANTS.values(), "tmp"])
            if t == "fz.all"
            else TENANTS[self.st.tenant_of.get(t[3:], "acme")]
            for t in types
        ]
        if rng.random() < 0.1:
            types, sources = ["fz.tmp"] * n, ["tmp"] * n  # the source remove_source removes
        keys = [
            f"k{rng.randrange(10**9)}" if rng.random() > 0.05 else f"dup{rng.randrange(50)}"
            for _ in range(n)
        ]
        with self.c.transaction():
            ids = []
            for src, k, t in sorted(zip(sources, keys, types, strict=True)):
                ev, new = self.c.execute(
                    "select event_id, is_new from hookline.ingest(source => %s, external_id => %s, "
                    "event_type => %s, payload => '{\"x\": 1}')",
                    (src, k, t),
                ).fetchone()
                if new:
                    ids.append(ev)
            rows = self.c.execute(
                "select delivery_id, endpoint_id from hookline.deliveries where event_id = any(%s)",
                (ids,),
            ).fetchall()
        with self.st.lock:
            for d, e in rows:
                self.st.created[d] = e
                self.st.created_list.append(d)

    def claim(self) -> None:
        rng = self.rng
        runner = rng.choice(["r1", "r2", "r3", "r4"])
        max_rows = rng.choice([1, 2, 3, 5, 10, 50, 200])
        lease = rng.choice(["0.2 s", "1 s", "2 s", "5 s"])
        with self.c.transaction():
            if rng.random() < 0.2:
                self.c.execute("select pg_sleep(%s)", (rng.random() * 0.3,))
            t0 = self.c.execute("select clock_timestamp()").fetchone()[0]
            rows = self.c.execute(
                "select delivery_id, lease_token::text, endpoint_id from hookline.claim(%s, %s, %s::interval)",
                (runner, max_rows, lease),
            ).fetchall()
            if len(rows) > max_rows:
                self.st.find(f"claim returned {len(rows)} > max_rows {max_rows}")
            if len({r[0] for r in rows}) != len(rows):
                self.st.find(f"claim returned a delivery twice: {rows}")
            if rows:
                eps = sorted({r[2] for r in rows})
                # Checks under the endpoint locks the claim still holds (and our own leases).
                bad = self.c.execute(
                    """
                    select e.endpoint_id, e.state, e.max_in_flight,
                      (select count(*) from hookline.deliveries f where f.endpoint_id = e.endpoint_id
                         and f.state = 'in_flight' and f.next_attempt_at > clock_timestamp()) as leased,
                      b.state, b.is_forced, b.open_until, b.probes, now(),
                      pg_xact_commit_timestamp(b.xmin) as b_commit,
                      (select count(*) from hookline.deliveries f where f.endpoint_id = e.endpoint_id
                         and f.lease_token is not null and f.state <> 'in_flight') as odd
                    from hookline.endpoints e
                    left join hookline.circuit_breakers b on b.target = 'endpoint:' || e.endpoint_id
                    where e.endpoint_id = any(%s)
                    """,
                    (eps,),
                ).fetchall()
                for (
                    eid,
                    state,
                    mif,
                    leased,
                    bstate,
                    forced,
                    open_until,
                    probes,
                    now,
                    bcommit,
                    odd,
                ) in bad:
                    if state != "active":
                        self.st.find(f"claim leased from endpoint {eid} in state {state}")
                    if leased > mif:
                        self.st.find(
                            f"endpoint {eid}: {leased} unexpired leases > max_in_flight {mif}"
                        )
                    if odd:
                        self.st.find(f"endpoint {eid}: {odd} rows with a lease token not in flight")
                    stable = bcommit is not None and bcommit < t0 - datetime.timedelta(
                        milliseconds=50
                    )
                    if bstate == "open" and (forced or open_until > now) and stable:
                        self.st.find(
                            f"claim leased from endpoint {eid} behind an open breaker (forced={forced})"
                        )
                    if bstate == "half_open" and stable and leased > probes:
                        self.st.find(
                            f"endpoint {eid}: half-open with {leased} leases > probes {probes}"
                        )
        now = time.monotonic()
        with self.st.lock:
            self.st.rows_claimed += len(rows)
            for d, tok, e in rows:
                self.st.pool.append((d, tok, e, runner, now))
            if len(self.st.pool) > 400:
                self.st.pool = self.st.pool[-400:]

    def _take(self, k: int) -> list[tuple[int, str, int, str, float]]:
        with self.st.lock:
            self.rng.shuffle(self.st.pool)
            taken, self.st.pool = self.st.pool[:k], self.st.pool[k:]
            self.st.old_tokens.extend((d, tok) for d, tok, *_ in taken)
            if len(self.st.old_tokens) > 2000:
                self.st.old_tokens = self.st.old_tokens[-2000:]
        return taken

    def complete(self) -> None:
        rng = self.rng
        taken = self._take(rng.choice([1, 2, 5, 20, 60]))
        results = []
        for d, tok, _e, runner, _t in taken:
            status = rng.choice(STATUSES)
            r = {
                "delivery_id": d,
                "lease_token": tok,
                "runner": runner,
                "duration_ms": rng.randrange(100),
            }
            if status is None:
                r["error_class"] = rng.choice(ERRORS)
            else:
                r["status_code"] = status
            if rng.random() < 0.1:
                r["retry_after_s"] = rng.choice([0, 0.5, 1, 2])
            results.append(r)
            if rng.random() < 0.05:
                results.append(dict(r, status_code=rng.choice([200, 503])))  # duplicate result
        with self.st.lock:
            olds = rng.sample(
                self.st.old_tokens, min(len(self.st.old_tokens), rng.choice([0, 0, 1, 3]))
            )
        for d, tok in olds:
            results.append(
                {"delivery_id": d, "lease_token": tok, "status_code": rng.choice([200, 500, 410])}
            )
        if rng.random() < 0.05:
            results.append(
                {
                    "delivery_id": 10**12 + rng.randrange(1000),
                    "lease_token": str(uuid.uuid4()),
                    "status_code": 200,
                }
            )
        rng.shuffle(results)
        if not results:
            return
        out = self.c.execute(
            "select delivery_id, outcome from hookline.complete(%s)", (Jsonb(results),)
        ).fetchall()
        if len(out) != len(results):
            self.st.find(f"complete returned {len(out)} rows for {len(results)} results")
        with self.st.lock:
            for d, o in out:
                if o == "succeeded":
                    self.st.succeeded[d] += 1

    def stale_complete(self) -> None:
        """A result with an old or random token, its row locked first: nothing may change."""
        rng = self.rng
        with self.st.lock:
            if not self.st.old_tokens:
                return
            d, tok = rng.choice(self.st.old_tokens)
        if rng.random() < 0.3:
            tok = str(uuid.uuid4())
        with self.c.transaction():
            before = self.c.execute(
                "select to_jsonb(d) from hookline.deliveries d where delivery_id = %s for update",
                (d,),
            ).fetchone()
            if before is not None and before[0]["lease_token"] == tok:
                return  # not stale after all
            out = self.c.execute(
                "select outcome from hookline.complete(%s)",
                (
                    Jsonb(
                        [
                            {
                                "delivery_id": d,
                                "lease_token": tok,
                                "status_code": rng.choice([200, 410, 503, 404]),
                            }
                        ]
                    ),
                ),
            ).fetchall()
            after = self.c.execute(
                "select to_jsonb(d) from hookline.deliveries d where delivery_id = %s", (d,)
            ).fetchone()
            if before is not None and (before and before[0]) != (after and after[0]):
                self.st.find(f"stale complete of {d} changed its row: {before} -> {after}")
            if [o for (o,) in out] not in (["stale"], ["unknown"]):
                self.st.find(f"stale complete of {d} answered {out}")

    def release(self) -> None:
        taken = self._take(self.rng.choice([1, 3, 10]))
        if not taken:
            return
        runner = taken[0][3] if self.rng.random() < 0.8 else "nobody"
        leases = [{"delivery_id": d, "lease_token": tok} for d, tok, *_ in taken]
        self.c.execute("select hookline.release(%s, %s)", (runner, Jsonb(leases))).fetchall()

    def rescue(self) -> None:
        self.c.execute("select hookline.rescue_leases()")

    def wake(self) -> None:
        self.c.execute("select hookline.wake_due_retries()")

    def next_due(self) -> None:
        self.c.execute("select hookline.next_due()")

    def replay(self) -> None:
        rows = self.c.execute(
            "select delivery_id from hookline.dead_letters order by random() limit %s",
            (self.rng.choice([1, 3, 20]),),
        ).fetchall()
        if rows:
            self.c.execute("select hookline.replay(%s)", ([r[0] for r in rows],)).fetchall()

    def discard(self) -> None:
        with self.st.lock:
            if not self.st.created_list:
                return
            ids = [self.rng.choice(self.st.created_list) for _ in range(self.rng.choice([1, 2, 5]))]
        self.c.execute("select hookline.discard(%s, 'fuzz')", (ids,)).fetchall()

    def pause(self) -> None:
        _, name = self.rng.choice(self.st.endpoints)
        self.c.execute("select hookline.pause_endpoint(%s, 'fuzz')", (name,))

    def resume(self) -> None:
        _, name = self.rng.choice(self.st.endpoints)
        self.c.execute("select hookline.resume_endpoint(%s, 'fuzz')", (name,))

    def breaker(self) -> None:
        eid, _ = self.rng.choice(self.st.endpoints)
        self.c.execute(
            "select hookline.set_breaker(%s, %s, 'fuzz')",
            (f"endpoint:{eid}", self.rng.choice(["open", "closed", "auto", "auto"])),
        )

    def set_endpoint(self) -> None:
        _, name = self.rng.choice(self.st.endpoints)
        self.c.execute(
            "select hookline.set_endpoint(%s, max_in_flight => %s, timeout_ms => %s, reason => 'fuzz')",
            (name, self.rng.choice([1, 2, 3, 5, None]), self.rng.choice([100, 1000, None])),
        )

    def add_endpoint(self) -> None:
        if len(self.st.endpoints) >= 200:
            return
        add_endpoint(self.c, self.rng, self.st, f"{self.idx}_{self.rng.randrange(10**9)}")

    # --- removals (docs/sql-api.md): refused (HL023) while deliveries or dead letters refer to
    # the endpoint; racing ingest, claim, complete, replay and discard they must never surface
    # a foreign key violation (23503) nor lose a delivery.

    def remove_endpoint(self) -> None:
        with self.st.lock:
            added = [e for e in self.st.endpoints if "_" in e[1]]  # added while running
            eid, name = self.rng.choice(
                added if added and self.rng.random() < 0.7 else self.st.endpoints
            )
        self.c.execute("select hookline.remove_endpoint(%s)", (name,))
        with self.st.lock:
            self.st.removed.add(eid)
            if (eid, name) in self.st.endpoints:
                self.st.endpoints.remove((eid, name))

    def remove_subscription(self) -> None:
        """Removes a random subscription and, mostly, adds it again (traffic goes on)."""
        row = self.c.execute(
            "select s.subscription_id, e.name, s.event_type_pattern, src.name from hookline.subscriptions s "
            "join hookline.endpoints e using (endpoint_id) left join hookline.sources src using (source_id) "
            "order by random() limit 1"
        ).fetchone()
        if row is None:
            return
        self.c.execute("select hookline.remove_subscription(%s)", (row[0],))
        if self.rng.random() < 0.8:
            self.c.execute("select hookline.add_subscription(%s, %s, %s)", row[1:])

    def source_churn(self) -> None:
        """Adds the source `tmp` (and subscribes an endpoint to its fz.tmp) or removes it."""
        if self.rng.random() < 0.5:
            add_source(self.c, "acme", "tmp")
        elif self.rng.random() < 0.5:
            _, name = self.rng.choice(self.st.endpoints)
            if self.st.tenant_of[name] == "acme":
                self.c.execute("select hookline.add_subscription(%s, 'fz.tmp', 'tmp')", (name,))
        else:
            self.c.execute("select hookline.remove_source('tmp')")

    # --- a tenant's operator (docs/security.md): another tenant's rows are as unknown (the
    # same error, nothing changes); every audit row of its transaction is of its tenant.

    def as_tenant(self) -> None:
        rng = self.rng
        tenant = rng.choice(list(ROLES))
        what = rng.choice(
            ["replay", "discard", "pause", "resume", "set_endpoint", "dead_letter_page"]
        )
        with self.st.lock:
            ids = (
                [rng.choice(self.st.created_list) for _ in range(rng.choice([1, 2, 5]))]
                if self.st.created_list
                else []
            )
            owners = {self.st.tenant_of.get(self.st.created.get(d)) for d in ids}
        _, name = rng.choice(self.st.endpoints)
        foreign = self.st.tenant_of[name] != tenant
        with self.c.transaction():
            self.c.execute(f"set local role {ROLES[tenant]}")
            if what in ("replay", "discard"):
                if what == "replay":
                    ids = [
                        r[0] for r in self.c.execute(
                            "select delivery_id from hookline.dead_letter_page(page_size => 20)"
                        )
                    ] if rng.random() < 0.5 else ids  # fmt: skip
                    with self.st.lock:
                        owners = {self.st.tenant_of.get(self.st.created.get(d)) for d in ids}
                    sql = "select hookline.replay(%s)"
                else:
                    sql = "select hookline.discard(%s, reason => 'fuzz')"
                if not ids:
                    return
                done = self.c.execute(sql, (ids,)).fetchall()
                if done and owners - {tenant}:
                    self.st.find(f"{tenant}'s {what} of {ids} (tenants {owners}) acted: {done}")
            elif what == "dead_letter_page":
                got = [
                    r[0]
                    for r in self.c.execute("select delivery_id from hookline.dead_letter_page()")
                ]
                self.c.execute("reset role")
                other = self.c.execute(
                    "select count(*) from hookline.dead_letters d join hookline.endpoints e using (endpoint_id) "
                    "where d.delivery_id = any(%s) and e.tenant_id <> %s",
                    (got, tenant),
                ).fetchone()[0]
                if other:
                    self.st.find(
                        f"{tenant}'s dead_letter_page returned {other} rows of another tenant"
                    )
            else:
                if what == "pause":
                    self.c.execute("select hookline.pause_endpoint(%s, 'fuzz')", (name,))
                elif what == "resume":
                    self.c.execute("select hookline.resume_endpoint(%s, 'fuzz')", (name,))
                else:
                    self.c.execute(
                        "select hookline.set_endpoint(%s, max_in_flight => %s, reason => 'fuzz')",
                        (name, rng.choice([1, 2, 5])),
                    )
                if foreign:
                    self.st.find(
                        f"{tenant}'s {what} of {name}, an endpoint of another tenant, succeeded"
                    )
            self.c.execute("reset role")
            wrong = self.c.execute(
                "select action, tenant_id from hookline.audit_log where xmin::text = "
                "(pg_current_xact_id()::xid)::text and tenant_id is distinct from %s",
                (tenant,),
            ).fetchall()
            if wrong:
                self.st.find(f"{tenant}'s {what} wrote audit rows of other tenants: {wrong}")


OPS = [Session.ingest, Session.claim, Session.complete, Session.stale_complete, Session.release, Session.rescue,
       Session.wake, Session.next_due, Session.replay, Session.discard, Session.pause, Session.resume,
       Session.breaker, Session.set_endpoint, Session.add_endpoint, Session.remove_endpoint,
       Session.remove_subscription, Session.source_churn, Session.as_tenant]  # fmt: skip
WEIGHTS = [6, 30, 30, 4, 4, 2, 1, 3, 3, 2, 2, 3, 3, 3, 1, 1, 1, 1, 4]
SAFE = {"ingest", "claim", "complete", "stale_complete", "next_due"}
Session.OPS, Session.WEIGHTS, Session.SAFE = OPS, WEIGHTS, SAFE


def drain(dsn: str, st: State) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        for eid, name in st.endpoints:
            c.execute("select hookline.resume_endpoint(%s)", (name,))
            c.execute("select hookline.set_breaker(%s, 'closed', 'drain')", (f"endpoint:{eid}",))
        empty_since = None
        t_end = time.monotonic() + 300
        empties = 0
        while time.monotonic() < t_end:
            left = c.execute("select count(*) from hookline.deliveries").fetchone()[0]
            if left == 0:
                break
            rows = c.execute(
                "select delivery_id, lease_token::text from hookline.claim('drain', %s, '2 s')",
                (random.choice([1, 5, 50, 500]),),
            ).fetchall()
            if rows:
                empty_since = None
                out = c.execute(
                    "select outcome from hookline.complete(%s)",
                    (
                        Jsonb(
                            [
                                {"delivery_id": d, "lease_token": t, "status_code": 200}
                                for d, t in rows
                            ]
                        ),
                    ),
                ).fetchall()
                for (o,) in out:
                    if o != "succeeded":
                        st.find(f"drain complete answered {o}")
                continue
            claimable = c.execute(
                """
                select count(*) from hookline.deliveries d join hookline.endpoints e using (endpoint_id)
                where e.state = 'active' and d.next_attempt_at <= clock_timestamp()
                  and (select count(*) from hookline.deliveries f where f.endpoint_id = e.endpoint_id
                       and f.state = 'in_flight' and f.next_attempt_at > clock_timestamp()) < e.max_in_flight
                """
            ).fetchone()[0]
            if claimable:
                empties += 1
                empty_since = empty_since or time.monotonic()
                if time.monotonic() - empty_since > 1.5:
                    st.find(
                        f"drain: claim returns 0 rows for {time.monotonic() - empty_since:.1f}s while {claimable} are claimable"
                    )
                    empty_since = None
            time.sleep(0.05)
        left = c.execute(
            "select count(*), min(next_attempt_at) - now() from hookline.deliveries"
        ).fetchone()
        if left[0]:
            st.find(f"drain: {left[0]} deliveries left after 300 s (next {left[1]})")
        print(f"drain: {empties} empty claims while claimable (<1.5s each)")


def audit(dsn: str, st: State) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        live = {r[0] for r in c.execute("select delivery_id from hookline.deliveries")}
        dead = dict(
            c.execute("select delivery_id, state::text from hookline.dead_letters").fetchall()
        )
        succ = {
            r[0]
            for r in c.execute(
                "select distinct delivery_id from hookline.attempts where outcome = 'succeeded'"
            )
        }
        all_ids = {
            r[0]
            for r in c.execute(
                "select delivery_id from hookline.deliveries union select delivery_id from hookline.dead_letters union select delivery_id from hookline.attempts"
            )
        }
    both = live & set(dead)
    if both:
        st.find(f"{len(both)} deliveries both live and dead: {sorted(both)[:10]}")
    vanished = [d for d in st.created if d not in live and d not in dead and d not in succ]
    if vanished:
        st.find(f"{len(vanished)} deliveries vanished: {vanished[:10]}")
    unknown = all_ids - set(st.created)
    if unknown and not st.restarts:
        st.find(f"{len(unknown)} delivery ids the fuzzer never saw created: {sorted(unknown)[:10]}")
    if unknown and st.restarts:
        print(
            f"{len(unknown)} deliveries of ingests whose commit the fuzzer did not see (restarts)"
        )
    twice = [d for d, n in st.succeeded.items() if n > 1]
    print(
        f"audit: created {len(st.created)}, live {len(live)}, dead/discarded {len(dead)}, "
        f"succeeded {len(succ)}; succeeded twice (across generations possible): {len(twice)}"
    )


def arguments(endpoints: str = "endpoints") -> argparse.Namespace:
    """The options every fuzz takes (`--endpoints` is named after what it adds)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument(f"--{endpoints}", type=int, default=40, dest="targets")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--root", default=None, help="the server's folder (default: a temporary one)")
    ap.add_argument("--restart-every", type=float, default=0)
    ap.add_argument(
        "--functions", default=None, help="deploy this folder's functions (an older version's)"
    )
    return ap.parse_args()


def run(args: argparse.Namespace, st: State, setup_fn, session_cls, drain_fn, audit_fn) -> None:
    """Starts a private server, deploys this checkout, calls setup_fn(dsn, n, rng, st), runs
    the sessions (with crashes every --restart-every seconds), stops the faults, drains and
    audits; prints the counts and exits 1 on any finding."""
    rng = random.Random(args.seed)
    root = Path(args.root or tempfile.mkdtemp(prefix="hookline-fuzz-"))
    pg = LocalPostgres(root, durable=bool(args.restart_every), password=False, cron=False)
    pg.init()
    with (pg.data / "postgresql.conf").open("a") as f:
        f.write("track_commit_timestamp = on\ndeadlock_timeout = '200ms'\n")
    pg.start()
    try:
        with psycopg.connect(pg.dsn(), autocommit=True) as c:
            c.execute("create database fuzz")
        dsn = pg.dsn("fuzz")
        Migrator(dsn, functions=Path(args.functions) if args.functions else None).deploy()
        setup_fn(dsn, args.targets, rng, st)
        sessions = [session_cls(i, dsn, st, args.seed) for i in range(args.sessions)]
        for s in sessions:
            s.start()
        t0 = time.monotonic()
        last_restart = t0
        while time.monotonic() - t0 < args.seconds:
            time.sleep(min(10, args.seconds))
            if args.restart_every and time.monotonic() - last_restart >= args.restart_every:
                st.restarting = True
                pg.stop("immediate")
                pg.start()
                time.sleep(1)
                st.restarting = False
                st.restarts += 1
                last_restart = time.monotonic()
                print("restarted (immediate stop)", flush=True)
            print(
                f"{time.monotonic() - t0:5.0f}s ops={sum(st.ops.values())} claimed={st.rows_claimed} "
                f"created={len(st.created)} findings={len(st.findings)}",
                flush=True,
            )
        st.faults = False
        time.sleep(3)
        st.stop = True
        for s in sessions:
            s.join(timeout=60)
        drain_fn(dsn, st)
        audit_fn(dsn, st)
        print("ops:", json.dumps(dict(st.ops)))
        print("errors:", json.dumps(dict(st.errs)))
        print(f"findings: {len(st.findings)}")
        for f in collections.Counter(x[:160] for x in st.findings).most_common(30):
            print("  ", f)
    finally:
        pg.stop("immediate")
        if not args.root:
            shutil.rmtree(root, ignore_errors=True)
    sys.exit(1 if st.findings else 0)


def main() -> None:
    run(arguments(), State(), setup, Session, drain, audit)


if __name__ == "__main__":
    main()
