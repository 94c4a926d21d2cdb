"""What the SQL-core benchmarks share: arguments, the scratch schema and tenant, and the
baseline they are measured against in the same run (a minimal hand-written SKIP LOCKED queue,
the "baseline" of the shared peers harness).

Every benchmark that deploys through this module (prepare() or deploy()) takes
`--functions OTHER/functions` anywhere on its command line: the functions of that folder
(another checkout's functions/) are deployed instead of this checkout's, over this checkout's
migrations, so an A/B of two versions of the functions is two runs of the same script on one
server. Without it a script measures the functions of the checkout it runs from, whatever
`hookline db deploy` put in the database before."""

from __future__ import annotations

import base64
import collections
import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
from psycopg.types.json import Jsonb

from hookline.migrator import Migrator
from hookline.pgcluster import LocalPostgres


def _take_functions_option() -> Path | None:
    """The folder of `--functions FOLDER`, taken out of sys.argv when this module is imported,
    so that the scripts' positional arguments stay as documented."""
    if "--functions" not in sys.argv:
        return None
    at = sys.argv.index("--functions")
    if at + 1 >= len(sys.argv):
        raise SystemExit("--functions needs a folder: another checkout's functions/")
    folder = Path(sys.argv[at + 1]).resolve()
    del sys.argv[at : at + 2]
    if not (folder / "index.sql").is_file():
        raise SystemExit(f"--functions {folder}: no index.sql there (a checkout's functions/)")
    return folder


FUNCTIONS = _take_functions_option()


def deploy(dsn: str) -> None:
    """This checkout's migrations, then the functions of --functions or of this checkout."""
    Migrator(dsn, functions=FUNCTIONS).deploy()
    if FUNCTIONS:
        print(f"functions deployed from {FUNCTIONS}", flush=True)


def arguments(default_total: int = 20000) -> tuple[str, int, int]:
    """DSN, how many items (default 20,000) and the batch size (default 64) from argv."""
    dsn = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else default_total
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 64
    return dsn, total, batch


def prepare(dsn: str, conn: psycopg.Connection) -> None:
    """Deploy the schema (deploy()) and make the tenant and source 'bench' (idempotent)."""
    deploy(dsn)
    conn.execute("insert into hookline.tenants values ('bench', 'Bench') on conflict do nothing")
    conn.execute(
        "insert into hookline.sources (tenant_id, name, kind, signing_secrets) "
        "values ('bench', 'bench', 'whatsapp', '{s}') on conflict do nothing"
    )


def only_bench_endpoint(conn: psycopg.Connection, max_in_flight: int) -> None:
    """Endpoint 'bench' (made if missing) active with this limit and no breaker, the tenant's
    others paused, so the benchmark's deliveries all go to one endpoint."""
    conn.execute("select hookline.premake_partitions()")
    reset_endpoints(conn, {"bench": max_in_flight})


def baseline(dsn: str, total: int, batch: int) -> float:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("drop table if exists public.bench_baseline_jobs")
        conn.execute(
            "create table public.bench_baseline_jobs (id bigserial primary key, "
            "status text not null default 'queued', run_at timestamptz not null default now(), "
            "attempts int not null default 0, payload jsonb not null)"
        )
        conn.execute(
            "create index on public.bench_baseline_jobs (run_at, id) where status = 'queued'"
        )
        conn.execute(
            "insert into public.bench_baseline_jobs (payload) "
            "select '{}'::jsonb from generate_series(1, %s::int)",
            (total,),
        )
        conn.execute("analyze public.bench_baseline_jobs")
        done, elapsed = 0, 0.0
        while True:
            t = time.perf_counter()
            ids = [
                r[0]
                for r in conn.execute(
                    "update public.bench_baseline_jobs set status = 'running', attempts = attempts + 1 "
                    "where id in (select id from public.bench_baseline_jobs where status = 'queued' "
                    "and run_at <= now() order by run_at, id limit %s for update skip locked) "
                    "returning id, payload",
                    (batch,),
                )
            ]
            if not ids:
                break
            conn.execute("delete from public.bench_baseline_jobs where id = any(%s)", (ids,))
            elapsed += time.perf_counter() - t
            done += len(ids)
        conn.execute("drop table public.bench_baseline_jobs")
    return done / elapsed


def queue_fresh_messages(conn: psycopg.Connection, total: int, tag: str = "") -> None:
    """total messages of source 'bench', each to a recipient no earlier run used (the run's
    clock time in its digits, so the pair limit defers none), keyed `<tag><run>-<i>`."""
    run = time.time_ns() // 1_000_000 % 10**9
    conn.execute(
        "select hookline.send_message('bench', '+' || (%s::bigint * 100000 + i)::text, "
        '\'{"type": "text", "text": {"body": "x"}}\', %s || \'-\' || i) '
        "from generate_series(1, %s::int) i",
        (run, f"{tag}{run}", total),
    )


def subscribed_endpoint(conn: psycopg.Connection, name: str) -> None:
    """Endpoint `name` the tenant's only active one (reset_endpoints, max_in_flight 10,000),
    subscribed to `<name>.*` (made if missing), the day partitions made: each event of type
    `<name>.<anything>` makes one delivery."""
    conn.execute("select hookline.premake_partitions()")
    reset_endpoints(conn, {name: 10000})
    if not conn.execute(
        "select 1 from hookline.subscriptions s join hookline.endpoints e using (endpoint_id) "
        "where e.name = %s",
        (name,),
    ).fetchone():
        conn.execute("select hookline.add_subscription(%s, %s)", (name, f"{name}.*"))


def reset_endpoints(conn: psycopg.Connection, limits: dict[str, int]) -> None:
    """The endpoints named in limits (made if missing) active, each with its max_in_flight and
    without a breaker; every other endpoint of tenant 'bench' paused. Benchmarks share a scratch
    database, and each leaves its endpoints as it used them (paused, max_in_flight 1, a breaker
    forced open): every delivery benchmark sets the endpoint state it depends on through this."""
    names = list(limits)
    with conn.transaction():
        conn.execute(
            "select hookline.add_endpoint('bench', n, 'http://127.0.0.1:9/') from unnest(%s::text[]) n "
            "where not exists (select from hookline.endpoints e where e.name = n)",
            (names,),
        )
        conn.execute(
            "update hookline.endpoints e "
            "set state = case when e.name = any(%(names)s) then 'active' else 'paused' end, "
            "paused_reason = case when e.name = any(%(names)s) then null else 'bench' end, "
            "max_in_flight = coalesce((%(limits)s::jsonb ->> e.name)::int, e.max_in_flight) "
            "where e.tenant_id = 'bench'",
            {"names": names, "limits": Jsonb(limits)},
        )
        conn.execute(
            "delete from hookline.circuit_breakers b using hookline.endpoints e "
            "where e.name = any(%s) and b.target = 'endpoint:' || e.endpoint_id",
            (names,),
        )


def dead_letter_tenants(conn: psycopg.Connection, events: dict[str, int]) -> None:
    """For each tenant of events: the tenant, its source and its endpoint (each named as the
    tenant, made if missing; the endpoint active, subscribed to every event type), none of the
    deliveries or dead letters an earlier run left, and that many new events (keys no earlier
    run used), each with a delivery to the endpoint. Tenant 'bench''s other endpoints are
    paused (reset_endpoints). dlq_10k.py and operator_views.py start so, and run again on the
    same database."""
    run = time.time_ns() // 1_000_000 % 10**9
    tenants = list(events)
    conn.execute("delete from hookline.dead_letters where tenant_id = any(%s)", (tenants,))
    conn.execute("delete from hookline.deliveries where tenant_id = any(%s)", (tenants,))
    for tenant, count in events.items():
        conn.execute(
            "insert into hookline.tenants (tenant_id, display_name) values (%s, %s) on conflict do nothing",
            (tenant, tenant.title()),
        )
        conn.execute(
            "insert into hookline.sources (tenant_id, name, kind, signing_secrets) "
            "values (%s, %s, 'whatsapp', '{s}') on conflict do nothing",
            (tenant, tenant),
        )
        if tenant == "bench":
            reset_endpoints(conn, {"bench": 10000})
        else:
            conn.execute(
                "select hookline.add_endpoint(%(t)s, %(t)s, 'https://handler.invalid/', max_in_flight => 10000) "
                "where not exists (select from hookline.endpoints e where e.name = %(t)s)",
                {"t": tenant},
            )
            conn.execute(
                "update hookline.endpoints set state = 'active', paused_reason = null where name = %s",
                (tenant,),
            )
        conn.execute(
            "select hookline.add_subscription(%(t)s, '*') where not exists (select from hookline.subscriptions s "
            "join hookline.endpoints e using (endpoint_id) where e.name = %(t)s and s.event_type_pattern = '*')",
            {"t": tenant},
        )
        conn.execute(
            "select hookline.ingest(%s, 'w' || %s || '-' || i, 'whatsapp.message.text', '{\"from\": \"4915112345678\"}') "
            "from generate_series(1, %s::int) i",
            (tenant, run, count),
        )


# What the crash ledgers share (crash_ledger.py for the inbound side, outbox_ledger.py for the
# outbound one): the CLI with a private key, real processes killed and started again at will,
# and the faults: SIGKILLs and immediate PostgreSQL restarts at random.

CLI_ENV = {k: v for k, v in os.environ.items() if k not in ("HOOKLINE_DSN", "DATABASE_URL")}
CLI_ENV["HOOKLINE_SECRET_KEYS"] = "kledger:" + base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")  # fmt: skip


def hookline(*args: str, dsn: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:  # fmt: skip
    """`hookline ARGS --dsn DSN` as an operator runs it; its output, or exit on a failure."""
    done = subprocess.run(
        [sys.executable, "-m", "hookline", *args, "--dsn", dsn],
        input=stdin, capture_output=True, text=True, env={**CLI_ENV, **(env or {})},
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(f"hookline {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def scalar(dsn: str, query: str) -> object:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        return conn.execute(query).fetchone()[0]


def private_postgres(root: Path, port: int, database: str) -> tuple[LocalPostgres, str]:
    """A durable PostgreSQL of its own in root/pg (fsync, synchronous_commit and
    full_page_writes on), started, with `database` made and deployed by `hookline db deploy`."""
    pg = LocalPostgres(root / "pg", port=port, password=False, cron=False)
    pg.start()
    try:
        with psycopg.connect(pg.dsn(), autocommit=True) as admin:
            admin.execute(f"create database {database}")
        dsn = pg.dsn(database)
        hookline("db", "deploy", dsn=dsn)
    except BaseException:
        pg.stop()
        raise
    return pg, dsn


class Processes:
    """Real hookline processes (name -> its arguments), each killed and started again at will;
    each logs to root/NAME.log."""

    def __init__(self, dsn: str, root: Path, commands: dict[str, list[str]]) -> None:
        self.dsn, self.root, self.commands = dsn, root, commands
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        for name in commands:
            self.start(name)

    def start(self, name: str) -> None:
        with (self.root / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "hookline", *self.commands[name], "--dsn", self.dsn, "--metrics-port", "0"],
                stdout=log, stderr=subprocess.STDOUT, env=CLI_ENV,
            )  # fmt: skip

    def wait_healthy(self, name: str, url: str) -> None:
        """Until `url`/healthz answers 200 (at most 60 s; else exit naming the process's log)."""
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} did not start: {self.root / name}.log")
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.start(name)

    def check(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                print(f"{name} exited with {proc.returncode}; started again (see {self.root / name}.log)", flush=True)  # fmt: skip
                self.start(name)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Flapping:
    """A fake server's answers for a crash ledger: for `flap` of the time, in stretches of 1 to
    4 s, one of KINDS (chosen per stretch), else "ok" (`mode`); the ledger's drain sets
    `healthy` (always "ok") and `stop` ends the schedule."""

    KINDS: tuple[str, ...] = ()

    def __init__(self, flap: float, seed: int) -> None:
        self.flap, self.rng = flap, random.Random(seed + 7)
        self.mode = "ok"
        self.healthy = False
        self.stop = threading.Event()
        threading.Thread(target=self._flapping, daemon=True).start()

    def _flapping(self) -> None:
        if self.flap <= 0:
            return
        while not self.stop.is_set():
            bad = self.rng.uniform(1, 4)
            self.stop.wait(bad * (1 - self.flap) / self.flap)
            if self.stop.is_set():
                break
            self.mode = self.rng.choice(self.KINDS)
            self.stop.wait(bad)
            self.mode = "ok"


class Faults(threading.Thread):
    """Every kill_every seconds on average (exponential) one of the processes is killed with
    SIGKILL and started again; every restart_every seconds on average PostgreSQL is stopped
    with `pg_ctl -m immediate` and started again; every lock_every seconds on average (if
    given) a session holds `lock` (a LOCK TABLE statement, as a deploy's migration takes) for
    lock_for seconds. log holds (from, to, what) of each fault on `clock`."""

    def __init__(self, pg: LocalPostgres, procs: Processes, seed: int, kill_every: float,
                 restart_every: float, clock: Callable[[], float] = time.monotonic,
                 lock_every: float = 0, lock_for: float = 0.5, lock: str = "",
                 dsn: str = "") -> None:  # fmt: skip
        super().__init__(daemon=True)
        self.pg, self.procs, self.clock = pg, procs, clock
        self.rng = random.Random(seed + 11)
        self.kill_every, self.restart_every = kill_every, restart_every
        self.lock_every, self.lock_for, self.lock, self.dsn = lock_every, lock_for, lock, dsn
        self.locks = 0
        self.stop = threading.Event()
        self.kills: collections.Counter[str] = collections.Counter()
        self.log: list[tuple[float, float, str]] = []  # (from, to, what) of each fault
        self.restarts = 0
        self.last = time.monotonic()
        self.outage = 0.0

    def when(self, every: float) -> float:
        return time.monotonic() + self.rng.expovariate(1 / every) if every > 0 else float("inf")

    def hold_lock(self) -> None:
        """The lock for lock_for seconds, in a transaction of its own (none if the server is
        down: a restart's outage is a fault of its own)."""
        t = self.clock()
        with contextlib.suppress(psycopg.Error), psycopg.connect(self.dsn, connect_timeout=2) as conn:  # fmt: skip
            conn.execute(self.lock)  # type: ignore[arg-type]  # the caller's statement
            time.sleep(self.lock_for)
            conn.commit()
            self.locks += 1
            self.log.append((t, self.clock(), "lock"))

    def run(self) -> None:
        next_kill, next_restart = self.when(self.kill_every), self.when(self.restart_every)
        next_lock = self.when(self.lock_every if self.lock else 0)
        while not self.stop.wait(0.1):
            self.procs.check()
            now = time.monotonic()
            if now >= next_kill:
                name = self.rng.choice(sorted(self.procs.commands))
                t = self.clock()
                self.procs.kill(name)
                self.kills[name] += 1
                self.log.append((t, self.clock(), f"SIGKILL {name}"))
                self.last = time.monotonic()
                next_kill = self.when(self.kill_every)
            if now >= next_restart:
                t, t0 = self.clock(), time.monotonic()
                self.pg.stop("immediate")
                self.pg.start()
                self.outage += time.monotonic() - t0
                self.restarts += 1
                self.log.append((t, self.clock(), "PostgreSQL restart"))
                self.last = time.monotonic()
                next_restart = self.when(self.restart_every)
            if now >= next_lock:
                self.hold_lock()
                next_lock = self.when(self.lock_every)
