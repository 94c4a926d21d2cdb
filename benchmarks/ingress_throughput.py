"""Signed WhatsApp POSTs acknowledged per second by `hookline ingress`, against the tps of
`pgbench -N` on the same PostgreSQL server with the same number of clients, in one run.

    .venv/bin/python benchmarks/ingress_throughput.py [--seconds 10] [--concurrency 8 32 128]
        [--rounds 2] [--ingress-args "--groups-in-flight 1"] [--ceiling] [--cpu] [--wal]
        [--server-setting commit_delay=50 ...]

Needs `wrk` (the load tool, `apt-get install wrk`) and `pgbench` (with the PostgreSQL server)
on PATH. The database is a private PostgreSQL in a temporary directory with durable settings
(fsync and synchronous_commit on, as in production; pgbench runs against that same server);
--server-setting NAME=VALUE (repeatable) adds a line to its postgresql.conf, so the baseline and
the ingress run with the same server settings.
The ingress runs as `hookline ingress` (plus --ingress-args) with one source, one endpoint and
a subscription matching every event, so each POST stores its raw request, one event and one
delivery (no runner drains them).

The load: every POST is a realistic one-message text notification (`tests/fixtures/text.json`)
with a wamid of its own, signed with the source's secret, so none is a duplicate. The bodies
are signed before the clock starts (wrk only replays them: signing is the sender's cost, not
the ingress's); each wrk connection is one client that waits for its answer before the next
POST, as Meta's senders do. For each concurrency C, alternating, --rounds times:

- baseline: `pgbench -N -c C -j 2 -T seconds` (scale 10) on the same server: tps;
- hookline: `wrk -c C -t 2 -d seconds` against the ingress: 200 answers per second (every
  answer must be 200, and the database must hold one raw request per answer).

Printed per C: the best of each, the ratio (issue 11's goal: at least 0.8) and the load
average. With --ceiling, also the Python ceiling in the same rounds: the same wrk load against
a bare ASGI app on uvicorn with httptools and uvloop (as the ingress runs) that reads the body
and answers 200 without checking or storing anything, and the ratio of that to pgbench. With
--cpu, also the CPU time per acknowledged POST (user + system, from /proc, over the wrk runs)
of the ingress process and of the PostgreSQL server (the postmaster and all its processes:
the backends, the WAL writer, the checkpointer, and those that exited during the run, such as
pgbench's backends), and the server's per pgbench transaction, in ms; and the load tools' own
(wrk's per POST, pgbench's per transaction). With --wal, also the WAL each acknowledged POST and each pgbench transaction wrote (bytes,
from pg_stat_wal) and how many of them one WAL flush (fdatasync) made durable. The machine is
usually shared (2 cores: the database, the ingress and the load tool
share them): the ratio of the same run is the figure, not the rates.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ingress_helpers import FIXTURES, running_ingress, sign

from hookline.migrator import Migrator
from hookline.pgcluster import LocalPostgres, free_port

SECRET = "bench-secret"
THREADS = 2  # wrk and pgbench threads (-t, -j): the machine has 2 cores
MAX_RATE = 20_000  # bodies signed per second of a run: above any ingress rate seen (8.4k/s)

# One line per POST: the signature, a space, the body (one line of JSON). Each wrk thread reads
# its own file and replays it; `wrapped` counts replays past its end (they would be duplicates).
WRK_SCRIPT = """
local threads, count = {}, 0
function setup(thread)
  thread:set("file", string.format("%s/bodies-%d.txt", os.getenv("BODIES_DIR"), count))
  count = count + 1
  table.insert(threads, thread)
end
function init(args)
  sigs, bodies, i, wrapped = {}, {}, 0, 0
  for line in io.lines(file) do
    local at = line:find(" ")
    table.insert(sigs, line:sub(1, at - 1))
    table.insert(bodies, line:sub(at + 1))
  end
end
function request()
  i = i + 1
  if i > #bodies then i, wrapped = 1, wrapped + 1 end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
                                  ["X-Hub-Signature-256"] = sigs[i]}, bodies[i])
end
function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + t:get("wrapped") end
  io.write(string.format("wrapped: %d\\n", w))
end
"""


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise SystemExit(f"ingress_throughput: {tool} is not installed (apt-get install {package})")
    return path


def write_bodies(folder: Path, tag: str, total: int) -> None:
    """`total` signed one-message notifications with fresh wamids, split over THREADS files."""
    template = (FIXTURES / "text.json").read_bytes().strip()
    assert b"\n" not in template
    files = [(folder / f"bodies-{t}.txt").open("wb") for t in range(THREADS)]
    try:
        for i in range(total):
            body = template.replace(b"wamid.HBgL1", f"wamid.{tag}.{i}".encode())
            files[i % THREADS].write(sign(SECRET, body).encode() + b" " + body + b"\n")
    finally:
        for f in files:
            f.close()


def pgbench_tps(pg: LocalPostgres, clients: int, seconds: int) -> tuple[float, int]:
    """(tps, transactions) of one pgbench -N run."""
    out = subprocess.run(
        [need("pgbench", "postgresql"), "-N", "-n", "-c", str(clients), "-j", str(THREADS),
         "-T", str(seconds), "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "pgbench"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    done = int(re.search(r"number of transactions actually processed: (\d+)", out)[1])
    return float(re.search(r"tps = ([0-9.]+)", out)[1]), done


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int], *, reaped: bool = False) -> float:
    """User + system CPU time of these processes (those gone meanwhile count as 0); with
    `reaped`, also that of their children that exited and were waited for."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
            if reaped:
                ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLOCK_TICKS


def tools_cpu() -> float:
    """CPU time of this script's children that exited: the load tools (pgbench, wrk) run so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_cpu(pg: LocalPostgres) -> float:
    """CPU time of the server so far: the postmaster, its live processes and those that exited
    (a pgbench run's backends exit with it; the postmaster waits for them, which adds their
    time to its children's)."""
    master = int((pg.data / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return cpu_seconds([master], reaped=True) + cpu_seconds(list(map(int, children)))


def wal(dsn: str) -> tuple[int, int]:
    """(bytes, flushes) of WAL the server wrote so far (pg_stat_wal: wal_bytes, wal_sync)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute("select wal_bytes::bigint, wal_sync from pg_stat_wal").fetchone()
        return row[0], row[1]


def stored(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("select count(*) from hookline.raw_requests").fetchone()[0]


def wrk_rate(url: str, dsn: str, root: Path, clients: int, seconds: int, tag: str) -> float:
    bodies = root / "bodies"
    bodies.mkdir(exist_ok=True)
    write_bodies(bodies, tag, MAX_RATE * seconds)
    before = stored(dsn)
    out = subprocess.run(
        [need("wrk", "wrk"), "-c", str(clients), "-t", str(THREADS), "-d", f"{seconds}s",
         "--timeout", "30s", "-s", str(root / "sign.lua"), url],
        capture_output=True, text=True, check=True, env={**os.environ, "BODIES_DIR": str(bodies)},
    ).stdout  # fmt: skip
    answered = int(re.search(r"(\d+) requests in", out)[1])
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    assert re.search(r"wrapped: 0\b", out), f"wrk ran out of bodies:\n{out}"
    # Every 200 is a stored request; wrk stops with up to one POST per connection unanswered.
    time.sleep(0.5)
    extra = stored(dsn) - before - answered
    assert 0 <= extra <= clients, f"{answered} answered, {extra} more stored"
    return float(re.search(r"Requests/sec:\s+([0-9.]+)", out)[1])


# The ceiling: a raw ASGI app on the ingress's server stack that only reads the body and answers.
BARE_APP = """
import sys, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"{}"})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http="httptools", loop="uvloop",
            access_log=False, log_level="warning", lifespan="off")
"""


@contextlib.contextmanager
def bare_server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE_APP, str(port)])
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                break
            assert proc.poll() is None and time.monotonic() < deadline, "bare server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/webhooks/bench"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def bare_rate(url: str, root: Path, clients: int, seconds: int) -> float:
    """The bodies of the round just run (replayed: the bare app stores nothing)."""
    bodies = root / "bodies"
    out = subprocess.run(
        [need("wrk", "wrk"), "-c", str(clients), "-t", str(THREADS), "-d", f"{seconds}s",
         "-s", str(root / "sign.lua"), url],
        capture_output=True, text=True, check=True, env={**os.environ, "BODIES_DIR": str(bodies)},
    ).stdout  # fmt: skip
    assert "Non-2xx" not in out and "Socket errors" not in out, out
    return float(re.search(r"Requests/sec:\s+([0-9.]+)", out)[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8, 32, 128])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--ingress-args", default="", help="more arguments for hookline ingress")
    parser.add_argument(
        "--ceiling", action="store_true", help="also a bare uvicorn app answering 200 (no work)"
    )
    parser.add_argument(
        "--cpu", action="store_true", help="also CPU ms per POST of the ingress and of PostgreSQL"
    )
    parser.add_argument(
        "--wal", action="store_true", help="also WAL bytes and requests per WAL flush"
    )
    parser.add_argument(
        "--server-setting", action="append", default=[], metavar="NAME=VALUE",
        help="a postgresql.conf line for the server of the baseline and the ingress",
    )  # fmt: skip
    args = parser.parse_args()
    need("wrk", "wrk")
    need("pgbench", "postgresql")

    root = Path(tempfile.mkdtemp(prefix="hookline-bench-ingress-"))
    root.chmod(0o755)
    (root / "sign.lua").write_text(WRK_SCRIPT)
    pg = LocalPostgres(root / "pg", password=False, cron=False, durable=True)
    try:
        pg.init()
        with (pg.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{setting}\n" for setting in args.server_setting)
        pg.start()
        with psycopg.connect(pg.dsn(), autocommit=True) as admin:
            admin.execute("create database bench")
            admin.execute("create database pgbench")
        subprocess.run(
            [need("pgbench", "postgresql"), "-i", "-q", "-s", "10", "-h", "127.0.0.1", "-p", str(pg.port),
             "-U", "postgres", "pgbench"],
            check=True, capture_output=True,
        )  # fmt: skip
        dsn = pg.dsn("bench")
        Migrator(dsn).deploy()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "select hookline.add_source('bench', 'bench', 'whatsapp', %s, null, 65536, true)",
                (SECRET,),
            )
            conn.execute("select hookline.add_endpoint(tenant => 'bench', name => 'sink', url => 'http://127.0.0.1:9/hook')")  # fmt: skip
            conn.execute("select hookline.add_subscription(endpoint => 'sink', event_type_pattern => '*')")  # fmt: skip
        extra = shlex.split(args.ingress_args)
        with (
            running_ingress(dsn, root / "ingress.log", *extra) as ingress,
            bare_server() if args.ceiling else contextlib.nullcontext() as bare_url,
        ):
            url = f"{ingress.url}/webhooks/bench"
            print(f"ingress arguments: {' '.join(extra) or '(defaults)'}; {args.seconds} s runs")
            print(f"server settings: {', '.join(args.server_setting) or '(durable defaults)'}")
            ceiling = f"  {'bare ASGI':>9}  ratio" if args.ceiling else ""
            cpu = f"  {'CPU ms/POST: ingress':>20}  {'PostgreSQL':>10}  {'wrk':>5}"
            cpu += f"  {'per pgbench tx: PostgreSQL':>26}  {'pgbench':>7}"
            cpu = cpu if args.cpu else ""
            wal_head = f"  {'WAL B/POST':>10}  {'/tx':>5}  {'POSTs/flush':>11}  {'tx/flush':>8}"
            wal_head = wal_head if args.wal else ""
            print(
                f"{'clients':>7}  {'acks/s':>7}  {'pgbench -N tps':>14}  ratio{ceiling}{cpu}{wal_head}  load"
            )
            for c in args.concurrency:
                acks, tps, bare = 0.0, 0.0, 0.0
                used, posts, transactions = [0.0] * 5, 0, 0  # ingress, server, server, wrk, pgbench
                written = [0, 0, 0, 0]  # WAL bytes and flushes: the ingress's, pgbench's
                for r in range(args.rounds):
                    start, wal_start, tools = server_cpu(pg), wal(dsn), tools_cpu()
                    rate, done = pgbench_tps(pg, c, args.seconds)
                    used[2] += server_cpu(pg) - start
                    used[4] += tools_cpu() - tools
                    wal_end = wal(dsn)
                    written[2] += wal_end[0] - wal_start[0]
                    written[3] += wal_end[1] - wal_start[1]
                    tps, transactions = max(tps, rate), transactions + done
                    tag = f"{os.getpid()}.{c}.{r}"
                    before = stored(dsn)
                    start = cpu_seconds([ingress.proc.pid]), server_cpu(pg)
                    wal_start, tools = wal(dsn), tools_cpu()
                    acks = max(acks, wrk_rate(url, dsn, root, c, args.seconds, tag))
                    used[0] += cpu_seconds([ingress.proc.pid]) - start[0]
                    used[1] += server_cpu(pg) - start[1]
                    used[3] += tools_cpu() - tools
                    wal_end = wal(dsn)
                    written[0] += wal_end[0] - wal_start[0]
                    written[1] += wal_end[1] - wal_start[1]
                    posts += stored(dsn) - before
                    if bare_url:
                        bare = max(bare, bare_rate(bare_url, root, c, args.seconds))
                load = os.getloadavg()[0]
                ceiling = f"  {bare:>9.0f}  {bare / tps:.2f}x" if bare_url else ""
                if args.cpu:
                    cpu = f"  {used[0] / posts * 1e3:>20.3f}  {used[1] / posts * 1e3:>10.3f}"
                    cpu += f"  {used[3] / posts * 1e3:>5.3f}  {used[2] / transactions * 1e3:>26.3f}"
                    cpu += f"  {used[4] / transactions * 1e3:>7.3f}"
                wal_line = ""
                if args.wal:
                    wal_line = f"  {written[0] / posts:>10.0f}  {written[2] / transactions:>5.0f}"
                    wal_line += f"  {posts / max(written[1], 1):>11.1f}"
                    wal_line += f"  {transactions / max(written[3], 1):>8.1f}"
                print(
                    f"{c:>7}  {acks:>7.0f}  {tps:>14.0f}  {acks / tps:.2f}x{ceiling}{cpu}{wal_line}  {load:.1f}",
                    flush=True,
                )
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
