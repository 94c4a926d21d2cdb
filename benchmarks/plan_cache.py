"""Plans per call and server time per call of hot functions with the plan cache left to
choose (`plan_cache_mode = auto`) against generic plans from the first call
(`force_generic_plan`), at two sizes of the table they read: `complete_messages` (which sets
`force_generic_plan`) at two outbox histories, and `claim` at two backlogs.

    .venv/bin/python benchmarks/plan_cache.py [--only outbox|claim] [--history 10000,1000000]
        [--backlog 10000,1000000] [--calls 400] [--rounds 2] [--functions OTHER/functions]

One private PostgreSQL in a temporary directory (not durable), with pg_stat_statements
(`track = all` around the measured calls only, `track_planning = on`); each mode is set on the
function with ALTER FUNCTION, and each run of calls is one session (the plan cache is per
session), rounds alternating the modes. `--functions` deploys another checkout's functions/
(bench_common).

The outbox: one source and one sender; the outbox is first given `history` finished messages
(sent, with a wamid), then each call is one cycle of the outbox runner: send_message of a batch
(1 to 32 messages to new recipients, as SIZES cycles), then claim_messages, then the timed
complete_messages of its results (a mix of 2xx with a wamid, 5xx, timeouts and a permanent
error), one second later each cycle on the sender's clock. After 20 warm-up cycles: the median
ms per complete_messages call and per claim_messages call (client round trips), the most plans
of any statement inside complete_messages per call, and the ratio forced / auto (below 1 is
faster). After each history, the plans of a cycle's statements, once the plan cache has
settled (auto_explain, nested statements), are checked for a sequential or bitmap scan of the
outbox, and the plan of the lock of a pair-limit answer's recipient's messages is shown.

The claim: one endpoint with a backlog of `backlog` pending deliveries (topped up before each
session), claims of 1 to 32 as SIZES cycles, each completed (2xx, not timed): the median ms per
claim call after 10, the most plans of a statement inside it per call, forced / auto.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from bench_common import deploy
from psycopg.types.json import Jsonb

from hookline.pgcluster import LocalPostgres

SIZES = [1, 7, 32, 3, 16, 2, 25, 5]
FUNCTIONS = ("hookline.complete_messages(jsonb, timestamptz)",)
ANSWERS = [
    {"status_code": 200}, {"status_code": 503}, {"error_class": "timeout"}, {"status_code": 200},
    {"status_code": 400, "error_code": 131026}, {"status_code": 200},
    {"status_code": 400, "error_code": 131056},  # the pair limit: its recipient's messages locked too
]  # fmt: skip
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Run:
    """One session of outbox cycles with one plan_cache_mode."""

    def __init__(self, dsn: str, mode: str, start: int) -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.mode = mode
        self.n = start  # cycles and message keys continue across runs: new recipients each time
        for f in FUNCTIONS:
            self.conn.execute(f"alter function {f} set plan_cache_mode = {mode}")
        self.conn.execute("set pg_stat_statements.track_planning = on")
        self.conn.execute("set pg_stat_statements.track = 'none'")  # only complete_messages

    def cycle(self, k: int) -> tuple[float, float]:
        """One outbox cycle of k messages: the seconds of claim_messages and complete_messages."""
        self.n += 1
        now = T0 + timedelta(seconds=self.n)
        self.conn.execute(
            "select hookline.send_message('bench', '+1' || lpad((%s::bigint * 100 + i)::text, 12, '0'), "
            '\'{"type": "text", "text": {"body": "hi"}}\', \'c\' || %s || \'-\' || i, now => %s) '
            "from generate_series(1, %s::int) i",
            (self.n, self.n, now, k),
        )
        start = time.perf_counter()
        rows = self.conn.execute(
            "select message_id, lease_token from hookline.claim_messages('bench', %s, '30 seconds', %s)",
            (k, now),
        ).fetchall()
        claimed = time.perf_counter() - start
        answers = itertools.cycle(ANSWERS)
        results = []
        for r in rows:
            a = dict(next(answers))
            if a.get("status_code") == 200:
                a["wamid"] = f"wamid.bench.{r[0]}"
            results.append({"message_id": r[0], "lease_token": str(r[1])} | a)
        self.conn.execute("set pg_stat_statements.track = 'all'")
        start = time.perf_counter()
        self.conn.execute("select count(*) from hookline.complete_messages(%s, %s)",
                          (Jsonb(results), now))  # fmt: skip
        elapsed = time.perf_counter() - start
        self.conn.execute("set pg_stat_statements.track = 'none'")
        return claimed, elapsed

    def measure(self, calls: int) -> tuple[float, float, float]:
        """Median ms per complete_messages call, the most plans of a statement inside it per
        call, and the median ms per claim_messages call."""
        for k in itertools.islice(itertools.cycle(SIZES), 20):
            self.cycle(k)
        self.conn.execute("select pg_stat_statements_reset()")
        times = [self.cycle(k) for k in itertools.islice(itertools.cycle(SIZES), calls)]
        top = self.conn.execute(
            "select max(s.plans) from pg_stat_statements s where not s.toplevel"
        ).fetchone()[0]
        complete = statistics.median(t[1] for t in times) * 1000
        claim = statistics.median(t[0] for t in times) * 1000
        return complete, (top or 0) / calls, claim


def fill_history(conn: psycopg.Connection, rows: int) -> None:
    """Finished (sent) messages up to `rows` in all, then analyze."""
    have = conn.execute("select count(*) from hookline.outbox").fetchone()[0]
    conn.execute(
        "insert into hookline.outbox (source_id, created_at, sent_at, state, phone_number_id, "
        "tenant_id, idempotency_key, recipient, wamid, message, attempt_count) "
        "select s.source_id, %s, %s, 'sent', '1065', 'bench', 'h' || i, "
        "'+1' || lpad(i::text, 12, '9'), 'wamid.h' || i, '{\"type\": \"text\", \"text\": {}}', 1 "
        "from hookline.sources s, generate_series(%s::int + 1, %s::int) i where s.name = 'bench'",
        (T0 - timedelta(days=1), T0 - timedelta(days=1), have, rows),
    )
    conn.execute("vacuum analyze hookline.outbox")


def cycle_plans(dsn: str, start: int) -> list[str]:
    """The plans of one outbox cycle's statements after ten cycles in the session (the plans
    the plan cache settled on: complete_messages's generic ones, claim_messages's choice), from
    auto_explain of nested statements."""
    plans: list[str] = []
    run = Run(dsn, "force_generic_plan", start)
    with run.conn as conn:
        for k in itertools.islice(itertools.cycle(SIZES), 10):
            run.cycle(k)
        conn.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
        conn.execute("load 'auto_explain'")
        for setting in ("log_min_duration = 0", "log_nested_statements = on",
                        "log_level = notice"):  # fmt: skip
            conn.execute(f"set auto_explain.{setting}")
        conn.execute("set client_min_messages = notice")
        run.cycle(32)
    return plans


def outbox(dsn: str, args: argparse.Namespace) -> None:
    histories = [int(h) for h in args.history.split(",")]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "select hookline.add_source('bench', 'bench', 'whatsapp', 's', null, 65536, true)"
        )
        conn.execute(
            "select hookline.add_sender('bench', '1065', 'EAAG-token', messages_per_second => 1000)"
        )
        print(f"{'history':>9}  {'mode':<18}  {'complete ms':>11}  {'plans/call':>10}  "
              f"{'claim ms':>8}  load")  # fmt: skip
        n = 0
        best: dict[tuple[int, str], tuple[float, float, float]] = {}
        for history in histories:
            fill_history(conn, history)
            for _ in range(args.rounds):
                for mode in ("auto", "force_generic_plan"):
                    run = Run(dsn, mode, n)
                    figures = run.measure(args.calls)
                    n = run.n + 1
                    run.conn.close()
                    print(f"{history:>9}  {mode:<18}  {figures[0]:>11.3f}  {figures[1]:>10.2f}  "
                          f"{figures[2]:>8.3f}  {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
                    key = (history, mode)
                    best[key] = min(best.get(key, figures), figures)
            auto, forced = best[(history, "auto")], best[(history, "force_generic_plan")]
            print(f"{history:>9}  complete_messages forced / auto = {forced[0] / auto[0]:.2f}")
            plans = cycle_plans(dsn, n)
            n += 11
            scans = [
                p for p in plans if "Seq Scan on outbox" in p or "Bitmap Heap Scan on outbox" in p
            ]
            pair = [p for p in plans if "q.recipient = p.recipient" in p]
            print(f"plans of a cycle at {history} messages: {len(plans)} statements, "
                  f"{len(scans)} with a sequential or bitmap scan of the outbox; the pair-limit lock's:")  # fmt: skip
            for p in scans + pair[:1]:
                print(p)
        first, last = histories[0], histories[-1]
        for name, i, mode in (("complete_messages (forced)", 0, "force_generic_plan"),
                              ("claim_messages", 2, "auto")):  # fmt: skip
            ratio = best[(last, mode)][i] / best[(first, mode)][i]
            print(f"{name} at {last} / at {first} messages = {ratio:.2f}")


CLAIM_FUNCTION = "hookline.claim(text, integer, interval, timestamptz)"


def claims(dsn: str, mode: str, backlog: int, calls: int) -> tuple[float, float]:
    """One session of claim + complete at a backlog topped up to `backlog`: median ms per
    claim after 10 calls, and the most plans of a statement inside claim per call."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"alter function {CLAIM_FUNCTION} set plan_cache_mode = {mode}")
        pending = conn.execute(
            "select count(*) from hookline.deliveries where state = 'pending'"
        ).fetchone()[0]
        events = conn.execute("select count(*) from hookline.events").fetchone()[0]
        for lo in range(events, events + backlog - pending, 50000):
            conn.execute(
                "select count(*) from generate_series(%s::int + 1, %s::int) i, "
                "lateral hookline.ingest('bench', 'e' || i, 'bench.event', '{\"n\": 1}')",
                (lo, min(lo + 50000, events + backlog - pending)),
            )
        if pending < backlog:
            conn.execute("vacuum analyze hookline.deliveries")
        conn.execute("select pg_stat_statements_reset()")
        conn.execute("set pg_stat_statements.track_planning = on")
        times = []
        for k in itertools.islice(itertools.cycle(SIZES), calls):
            conn.execute("set pg_stat_statements.track = 'all'")
            start = time.perf_counter()
            rows = conn.execute(
                "select delivery_id, lease_token from hookline.claim('bench', %s, '30 seconds')",
                (k,),
            ).fetchall()
            times.append(time.perf_counter() - start)
            conn.execute("set pg_stat_statements.track = 'none'")
            results = [
                {"delivery_id": r[0], "lease_token": str(r[1]), "runner": "bench",
                 "status_code": 200, "retry_after_s": None, "response_excerpt": "", "duration_ms": 1}
                for r in rows
            ]  # fmt: skip
            conn.execute("select count(*) from hookline.complete(%s)", (Jsonb(results),))
        top = conn.execute(
            "select max(plans) from pg_stat_statements where not toplevel"
        ).fetchone()[0]
    return statistics.median(times[10:]) * 1000, (top or 0) / calls


def claim(dsn: str, args: argparse.Namespace) -> None:
    backlogs = [int(b) for b in args.backlog.split(",")]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "select hookline.add_source('bench', 'bench', 'whatsapp', 's', null, 65536, true)"
        )
        conn.execute(
            "select hookline.add_endpoint(tenant => 'bench', name => 'sink', "
            "url => 'http://127.0.0.1:9/', max_in_flight => 10000)"
        )
        conn.execute(
            "select hookline.add_subscription(endpoint => 'sink', event_type_pattern => '*')"
        )
        mode = conn.execute(
            "select coalesce((select c from unnest(proconfig) c where c like 'plan_cache_mode=%%'),"
            " 'plan_cache_mode not set (auto)') from pg_proc where oid = %s::regprocedure",
            (CLAIM_FUNCTION,),
        ).fetchone()[0]
    print(f"claim as deployed: {mode}")
    print(f"{'backlog':>9}  {'mode':<18}  {'claim ms':>8}  {'plans/call':>10}  load")
    best: dict[tuple[int, str], float] = {}
    for backlog in backlogs:
        for _ in range(args.rounds):
            for m in ("auto", "force_generic_plan"):
                ms, plans = claims(dsn, m, backlog, args.calls)
                print(f"{backlog:>9}  {m:<18}  {ms:>8.3f}  {plans:>10.2f}  "
                      f"{os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
                best[(backlog, m)] = min(best.get((backlog, m), ms), ms)
        ratio = best[(backlog, "force_generic_plan")] / best[(backlog, "auto")]
        print(f"{backlog:>9}  claim forced / auto = {ratio:.2f}")
    first, last = backlogs[0], backlogs[-1]
    for m in ("auto", "force_generic_plan"):
        print(f"claim ({m}) at {last} / at {first} = {best[(last, m)] / best[(first, m)]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("outbox", "claim"))
    parser.add_argument("--history", default="10000,1000000")
    parser.add_argument("--backlog", default="10000,1000000")
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hookline-bench-plan-cache-"))
    root.chmod(0o755)
    pg = LocalPostgres(root / "pg", password=False, cron=False, durable=False, statements=True)
    if not pg.has_statements:
        raise SystemExit("plan_cache: pg_stat_statements is not installed (PostgreSQL's contrib)")
    try:
        pg.start()
        for part in (outbox, claim):
            if args.only in (None, part.__name__):
                name = f"bench_{part.__name__}"
                with psycopg.connect(pg.dsn(), autocommit=True) as admin:
                    admin.execute(f"create database {name}")
                dsn = pg.dsn(name)
                deploy(dsn)
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute("create extension pg_stat_statements")
                part(dsn, args)
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
