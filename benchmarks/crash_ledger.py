"""The crash ledger: signed WhatsApp webhooks through the real ingress and the real runners while
processes are killed, PostgreSQL crashes and the handler flaps; then a ledger of what every
acknowledged webhook became. Not a test: it runs for minutes and its faults are random.

    .venv/bin/python benchmarks/crash_ledger.py [--webhooks 100000] [--rate 150] [--seed 1]
        [--kill-every 20] [--restart-every 60] [--flap 0.2] [--cooldown 2] [--port 55431]

It starts a private PostgreSQL of its own (`hookline.pgcluster.LocalPostgres` in a temporary
folder, durable: fsync, synchronous_commit and full_page_writes on) on --port, deploys with
`hookline db deploy`, and sets up through the CLI two tenants: acme (sources wa-acme-1 and
wa-acme-2; endpoints acme-crm for every event and acme-audit for whatsapp.message.* only, whose
short retry schedule sends deliveries to the DLQ during a long flap) and beta (source wa-beta,
endpoint beta-crm); each endpoint's breaker cools down for --cooldown seconds (doubling up to 5
times that; `hookline.configure_breaker`), so that the drain is not a 10 min cooldown. It runs `hookline ingress` and two `hookline runner` processes (lease 3 s)
and a handler on 127.0.0.1 that records every request (its webhook-id and the wamid of the
event in its body) and flaps: for --flap of the time, in stretches of 1 to 4 s, it answers 500,
lets the request time out (the endpoints' timeout is 1 s) or drops the connection; else 200.

The load POSTs signed bodies (--rate per second, 8 clients) shaped like tests/fixtures (one
message, several changes with messages and statuses, batches from several users, statuses,
media, reactions), every item with a wamid of its own, to a random source. A body answered
other than 2xx, or whose answer was lost, is posted again (as Meta does) until it is answered
2xx; every 2xx is recorded. Every --kill-every seconds on average (exponential) one of the
ingress and the two runners is killed with SIGKILL and started again; every --restart-every
seconds on average PostgreSQL is stopped with `pg_ctl -m immediate` and started again. The
load stops once --webhooks bodies are acknowledged; then the faults stop, the handler answers
200, and the ledger waits until hookline.deliveries is empty (the drain).

The ledger, per (endpoint, item) that an acknowledged body should reach: delivered (a 200
from the handler), dead-lettered (hookline.dead_letters, with its attempts), lost (acked but
neither); phantom: an item delivered whose body was never acknowledged, beyond those whose
answer was lost to a kill (the ingress had stored them: counted apart); a unit delivered with
two different webhook-ids (an event stored twice); duplicates (200s beyond the first per unit:
count, most for one unit, per fault); the drain's length after the last fault; throughput.
Exit status 1 when anything is lost or phantom, or a unit came with two webhook-ids.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg
from bench_common import Faults, Flapping, Processes, hookline, private_postgres, scalar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.ingress_helpers import sign

from hookline.pgcluster import free_port

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
# fixture: weight (bodies of one message, several changes with messages and statuses,
# batches from several users, statuses alone, media, reactions)
SHAPES = {"text": 40, "several": 15, "messages_many_users": 10, "statuses": 10,
          "statuses_many_users": 10, "image": 10, "reaction": 5}  # fmt: skip
TENANTS = {"acme": ["wa-acme-1", "wa-acme-2"], "beta": ["wa-beta"]}
# endpoint: (tenant, pattern, retry schedule, which items it gets)
ENDPOINTS = {
    "acme-crm": ("acme", "*", "0.5 s,1 s,2 s,4 s,8 s,15 s,30 s", ("messages", "statuses")),
    "acme-audit": ("acme", "whatsapp.message.*", "0.2 s", ("messages",)),
    "beta-crm": ("beta", "*", "0.5 s,1 s,2 s,4 s,8 s,15 s,30 s", ("messages", "statuses")),
}
ITEM = re.compile(rb"wamid\.L(\d+)\.(\d+)")


class Bodies:
    """Bodies shaped like the fixtures, each item's id replaced by wamid.L<seq>.<n>."""

    def __init__(self, seed: int) -> None:
        self.shapes = {name: json.loads((FIXTURES / f"{name}.json").read_text()) for name in SHAPES}
        self.names = list(SHAPES)
        self.weights = [SHAPES[n] for n in self.names]
        self.seed = seed

    def make(self, seq: int) -> tuple[str, bytes, list[tuple[str, str]]]:
        """(source, body, [(item id, 'messages' or 'statuses')])."""
        rng = random.Random(self.seed * 1_000_003 + seq)
        body = copy.deepcopy(self.shapes[rng.choices(self.names, weights=self.weights)[0]])
        items = []
        for entry in body["entry"]:
            for change in entry["changes"]:
                for kind in ("messages", "statuses"):
                    for item in change["value"].get(kind, []):
                        item["id"] = f"wamid.L{seq}.{len(items)}"
                        items.append((item["id"], kind))
        tenant = rng.choice(["acme", "acme", "beta"])
        return rng.choice(TENANTS[tenant]), json.dumps(body).encode(), items


class Handler(Flapping):
    """The endpoints' handler on 127.0.0.1: records every request and flaps on a schedule."""

    KINDS = ("500", "timeout", "drop")

    def __init__(self, flap: float, seed: int) -> None:
        self.lock = threading.Lock()
        # (endpoint, item) -> [(webhook-id, when)] of the requests answered 200
        self.ok: collections.defaultdict[tuple[str, str], list[tuple[str, float]]] = (
            collections.defaultdict(list)
        )
        self.requests = 0
        self.bad_answers: collections.Counter[str] = collections.Counter()
        self.odd_bodies = 0
        super().__init__(flap, seed)
        handler = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 512

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # a connection the runner dropped (its timeout) or this handler reset

        class Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                endpoint = self.path.strip("/")
                found = ITEM.findall(body)
                mode = "ok" if handler.healthy else handler.mode
                with handler.lock:
                    handler.requests += 1
                    if mode != "ok":
                        handler.bad_answers[mode] += 1
                    elif len(found) == 1:
                        item = f"wamid.L{found[0][0].decode()}.{found[0][1].decode()}"
                        handler.ok[(endpoint, item)].append(
                            (self.headers.get("webhook-id", ""), time.monotonic())
                        )
                    else:
                        handler.odd_bodies += 1
                if mode == "500":
                    self.answer(500)
                elif mode == "timeout":
                    time.sleep(1.5)  # past the endpoints' 1 s timeout
                    self.close_connection = True
                elif mode == "drop":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # fmt: skip
                    self.close_connection = True
                    self.connection.close()
                else:
                    self.answer(200)

            def answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = Server(("127.0.0.1", 0), Request)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, endpoint: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{endpoint}"


class Load:
    """Signed POSTs at a steady rate from 8 clients; each body posted until answered 2xx."""

    def __init__(self, url: str, secrets: dict[str, str], bodies: Bodies, goal: int, rate: float, retries: int) -> None:  # fmt: skip
        self.url, self.secrets, self.bodies, self.goal, self.rate = url, secrets, bodies, goal, rate
        self.retries = retries
        self.lock = threading.Lock()
        self.next_seq = 0
        self.next_at = time.monotonic()
        self.acked: dict[int, tuple[str, list[tuple[str, str]]]] = {}  # seq -> source, items
        self.sent: dict[int, tuple[str, list[tuple[str, str]]]] = {}
        self.in_doubt: set[int] = set()  # an answer lost after the body was sent
        self.refused: set[int] = set()  # answered, but not 2xx (at least once)
        self.refused_at: dict[int, tuple[float, float, str]] = {}  # posted, answered, status
        self.unacked: set[int] = set()  # no 2xx, and no more tries
        self.answers: collections.Counter[str] = collections.Counter()
        self.posts = 0
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(8)]
        for t in self.threads:
            t.start()

    def take(self) -> int | None:
        with self.lock:
            if self.next_seq - len(self.unacked) >= self.goal:  # the rest acked or under way
                return None
            seq, self.next_seq = self.next_seq, self.next_seq + 1
            at = self.next_at = max(self.next_at + 1 / self.rate, time.monotonic() - 1)
        time.sleep(max(0.0, at - time.monotonic()))
        return seq

    def client(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self.stop.is_set() and (seq := self.take()) is not None:
                source, body, items = self.bodies.make(seq)
                headers = {"content-type": "application/json",
                           "x-hub-signature-256": sign(self.secrets[source], body)}  # fmt: skip
                with self.lock:
                    self.sent[seq] = (source, items)
                tries, connects = 0, 0
                while not self.stop.is_set():
                    sent_at = time.monotonic()
                    try:
                        answer = http.post(f"{self.url}/webhooks/{source}", content=body, headers=headers)  # fmt: skip
                        status = str(answer.status_code)
                    except httpx.ConnectError:
                        status = "connect"  # nothing sent: sent again, whatever --retries says
                    except httpx.TransportError as e:
                        status = type(e).__name__  # sent, the answer lost
                        with self.lock:
                            self.in_doubt.add(seq)
                    with self.lock:
                        self.posts += 1
                        self.answers[status] += 1
                        if status.startswith("2"):
                            self.acked[seq] = (source, items)
                            break
                        if status == "connect":
                            connects += 1
                        else:
                            tries += 1
                            if status[0].isdigit():
                                self.refused.add(seq)
                                self.refused_at[seq] = (sent_at, time.monotonic(), status)
                        if tries > self.retries or connects > 600:
                            self.unacked.add(seq)
                            break
                    time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--webhooks", type=int, default=100_000, help="acknowledged bodies to reach")  # fmt: skip
    parser.add_argument("--rate", type=float, default=150, help="POSTs a second (new bodies)")
    parser.add_argument("--retries", type=int, default=0, help="post a body answered other than 2xx (or whose answer was lost) again, up to this many times, as Meta does (0: never, so that a body stored but not acknowledged shows)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill-every", type=float, default=20, help="mean seconds between SIGKILLs (0: none)")  # fmt: skip
    parser.add_argument("--restart-every", type=float, default=60, help="mean seconds between immediate PostgreSQL restarts (0: none)")  # fmt: skip
    parser.add_argument("--lock-every", type=float, default=0, help="mean seconds between locks of the deliveries and endpoints, as a deploy's migration takes them (0: none)")  # fmt: skip
    parser.add_argument("--lock-for", type=float, default=0.5, help="seconds each such lock is held")  # fmt: skip
    parser.add_argument("--flap", type=float, default=0.2, help="share of the time the handler fails (0: never)")  # fmt: skip
    parser.add_argument("--cooldown", type=float, default=2, help="the endpoints' breaker cooldown in seconds, at most 5 times that when it doubles (0: the defaults, 30 s to 10 min)")  # fmt: skip
    parser.add_argument("--port", type=int, default=55431, help="the private PostgreSQL's port")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop everything it started

    root = Path(tempfile.mkdtemp(prefix="hookline-crash-ledger-"))
    os.chmod(root, 0o755)
    handler = Handler(args.flap, args.seed)
    pg = procs = faults = load = None
    print(f"crash ledger: seed {args.seed}, {args.webhooks} webhooks at {args.rate}/s, kill every {args.kill_every} s, "
          f"PostgreSQL restart every {args.restart_every} s, flap {args.flap}, cooldown {args.cooldown} s; logs in {root}; load average {os.getloadavg()}", flush=True)  # fmt: skip
    try:
        pg, dsn = private_postgres(root, args.port, "ledger")
        secrets: dict[str, str] = {}
        for tenant, sources in TENANTS.items():
            for source in sources:
                secrets[source] = f"app-secret-{source}-{args.seed}"
                hookline("sources", "add", source, "--tenant", tenant, "--create-tenant",
                         "--secret-env", "LEDGER_SECRET", dsn=dsn, env={"LEDGER_SECRET": secrets[source]})  # fmt: skip
        for name, (tenant, pattern, schedule, _) in ENDPOINTS.items():
            hookline("endpoints", "add", name, "--tenant", tenant, "--url", handler.url(name),
                     "--timeout-ms", "1000", "--max-in-flight", "32", "--retry-schedule", schedule, dsn=dsn)  # fmt: skip
            hookline("subscriptions", "add", name, pattern, dsn=dsn)
        if args.cooldown > 0:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(
                    "select hookline.configure_breaker(target => 'endpoint:' || endpoint_id, "
                    "base_cooldown => make_interval(secs => %s), max_cooldown => make_interval(secs => %s)) "
                    "from hookline.endpoints",
                    (args.cooldown, 5 * args.cooldown),
                )
        port = free_port()
        procs = Processes(dsn, root, {
            "ingress": ["ingress", "--port", str(port), "--db-timeout", "2"],
            **{name: ["runner", "--name", name, "--lease", "3", "--poll", "1"] for name in ("runner-1", "runner-2")},
        })  # fmt: skip
        ingress_url = f"http://127.0.0.1:{port}"
        procs.wait_healthy("ingress", ingress_url)
        faults = Faults(
            pg, procs, args.seed, args.kill_every, args.restart_every,
            lock_every=args.lock_every, lock_for=args.lock_for, dsn=dsn,
            lock="lock table hookline.deliveries, hookline.endpoints in access exclusive mode",
        )  # fmt: skip
        faults.start()
        load = Load(ingress_url, secrets, Bodies(args.seed), args.webhooks, args.rate, args.retries)
        last_print = 0.0
        while any(t.is_alive() for t in load.threads):
            time.sleep(1)
            if time.monotonic() - last_print >= 30:
                last_print = time.monotonic()
                print(f"  {time.monotonic() - load.started:6.0f} s: acked {len(load.acked)}, posts {load.posts}, "
                      f"handler requests {handler.requests}, kills {sum(faults.kills.values())}, "
                      f"restarts {faults.restarts}, load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        load_seconds = time.monotonic() - load.started
        faults.stop.set()
        faults.join()
        last_fault = faults.last
        handler.stop.set()
        handler.healthy = True
        procs.check()
        drain_from = time.monotonic()
        while True:
            with contextlib.suppress(psycopg.OperationalError):
                if scalar(dsn, "select count(*) from hookline.deliveries") == 0:
                    break
            if time.monotonic() - drain_from > 900:
                print("the drain did not finish in 15 min", flush=True)
                break
            procs.check()
            time.sleep(0.2)
        drained = time.monotonic()
        return ledger(dsn, load, handler, faults, load_seconds, drained - last_fault, drained - drain_from)  # fmt: skip
    finally:
        if load is not None:
            load.stop.set()
        if faults is not None:
            faults.stop.set()
        if procs is not None:
            procs.stop()
        handler.server.shutdown()
        if pg is not None:
            pg.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def ledger(dsn: str, load: Load, handler: Handler, faults: Faults, load_seconds: float,
           since_fault: float, drain: float) -> int:  # fmt: skip
    tenant_of = {s: t for t, sources in TENANTS.items() for s in sources}

    def units(bodies: dict[int, tuple[str, list[tuple[str, str]]]]) -> set[tuple[str, str]]:
        return {
            (endpoint, item)
            for source, items in bodies.values()
            for item, kind in items
            for endpoint, (tenant, _, _, kinds) in ENDPOINTS.items()
            if tenant == tenant_of[source] and kind in kinds
        }

    acked = units(load.acked)
    sent = units(load.sent)
    doubt = units({s: load.sent[s] for s in load.in_doubt if s not in load.acked})
    refused = units({s: load.sent[s] for s in load.refused if s not in load.acked})
    with psycopg.connect(dsn) as conn:
        dead_rows = conn.execute(
            "select e.name, substring(ev.payload::text from 'wamid\\.L[0-9]+\\.[0-9]+'), d.attempt_count, "
            "(select count(*) from hookline.attempts a where a.delivery_id = d.delivery_id), d.reason "
            "from hookline.dead_letters d join hookline.endpoints e using (endpoint_id) "
            "join hookline.events ev on ev.event_id = d.event_id and ev.received_at = d.event_received_at"
        ).fetchall()
        events = conn.execute("select count(*) from hookline.events").fetchone()[0]
        twice = {u: r for u, r in handler.ok.items() if len(r) > 1}
        ids = sorted(
            {
                int(r[0][0].removeprefix("dlv_"))
                for r in twice.values()
                if r[0][0].startswith("dlv_")
            }
        )
        recorded = {
            d: (ok, stale, lost)
            for d, ok, stale, lost in conn.execute(
                "select delivery_id, count(*) filter (where status_code between 200 and 299 and outcome <> 'stale'), "
                "count(*) filter (where outcome = 'stale'), "
                "count(*) filter (where status_code is null and error_class in ('timeout', 'network')) "
                "from hookline.attempts where delivery_id = any(%s) group by delivery_id",
                (ids,),
            )
        }
        attempts = conn.execute("select count(*) from hookline.attempts").fetchone()[0]
    dead = {(name, item) for name, item, *_ in dead_rows}
    dead_without_attempts = [r for r in dead_rows if not r[3] or r[3] < r[2]]
    delivered = set(handler.ok)
    lost = acked - delivered - dead
    unacked_delivered = (delivered | dead) - acked
    stored_unacked = unacked_delivered & doubt
    phantom = unacked_delivered - doubt
    never_sent = phantom - sent
    two_ids = {u: ids for u, ids in handler.ok.items() if len({i for i, _ in ids}) > 1}
    copies = [len(ids) for ids in handler.ok.values()]
    duplicates = sum(n - 1 for n in copies)
    crashes = sum(faults.kills.values()) + faults.restarts
    items_acked = sum(len(items) for _, items in load.acked.values())

    print("\n=== crash ledger ===")
    print(f"acked webhooks {len(load.acked)} ({items_acked} items; {len(acked)} (endpoint, item) units); "
          f"bodies sent {len(load.sent)}, not acked {len(load.unacked)} (answered non-2xx {len(load.refused - set(load.acked))}, "
          f"answer lost {len(load.in_doubt - set(load.acked))}); POSTs {load.posts}: {dict(load.answers.most_common())}")  # fmt: skip
    print(f"events stored {events}; attempts recorded {attempts}; handler requests {handler.requests} "
          f"(failed on purpose: {dict(handler.bad_answers)}; bodies without exactly one ledger wamid: {handler.odd_bodies})")  # fmt: skip
    print(f"delivered (a 200) {len(delivered & acked)} units; dead-lettered {len(dead & acked)} "
          f"(attempts per dead delivery {min((r[3] for r in dead_rows), default=0)} to {max((r[3] for r in dead_rows), default=0)}; "
          f"fewer attempts recorded than counted: {len(dead_without_attempts)}); delivered and dead both {len(delivered & dead)}")  # fmt: skip
    print(f"LOST (acked, neither delivered nor dead): {len(lost)} {sorted(lost)[:10]}")
    print(f"PHANTOM (delivered or dead, never acked, no answer lost): {len(phantom)} units {sorted(phantom)[:10]} "
          f"(answered non-2xx: {len(phantom & refused)}; never sent: {len(never_sent)})")  # fmt: skip
    for seq in sorted({int(item.split(".")[1][1:]) for _, item in phantom}):
        posted, answered, status = load.refused_at.get(seq, (0.0, 0.0, "?"))
        near = [f"{what} {start - posted:+.2f} s to {end - posted:+.2f} s" for start, end, what in faults.log
                if start - 5 <= answered and posted - 5 <= end]  # fmt: skip
        print(f"  phantom body {seq}: answered {status} {answered - posted:.2f} s after it was posted; faults near (from its post): {near}")  # fmt: skip
    print(f"stored though the answer was lost (to a kill or restart): {len(stored_unacked)} units "
          f"of {len(doubt)} whose body's answer was lost")  # fmt: skip
    print(f"TWO WEBHOOK-IDS for one unit: {len(two_ids)} {list(two_ids.items())[:5]}")
    print(f"duplicate receipts (200s beyond the first): {duplicates} over {sum(1 for n in copies if n > 1)} units, "
          f"most for one unit {max(copies, default=0)}; faults {crashes} (SIGKILL {dict(faults.kills)}, "
          f"PostgreSQL immediate restarts {faults.restarts}, {faults.outage:.1f} s down in all; "
          f"locks of the deliveries and endpoints {faults.locks}, {faults.lock_for} s each): "
          f"{duplicates / max(crashes, 1):.1f} duplicates per fault")  # fmt: skip
    causes: collections.Counter[str] = collections.Counter()
    for receipts in twice.values():
        d = int(receipts[0][0].removeprefix("dlv_"))
        ok, stale, lost_answers = recorded.get(d, (0, 0, 0))
        if stale:
            causes["a late result recorded as stale (lease expired while answering)"] += (
                len(receipts) - 1
            )
        elif lost_answers:
            causes["a 200 recorded as timeout or network error (late or lost answer)"] += (
                len(receipts) - 1
            )
        else:
            first, last = receipts[0][1], receipts[-1][1]
            # What can leave a 200 unrecorded: a runner killed, or PostgreSQL restarted (an
            # ingress killed cannot); the first of those between the two receipts.
            near = [what for start, end, what in faults.log
                    if first - 1 <= end and start <= last and "ingress" not in what]  # fmt: skip
            what = near[0] if near else "no runner kill or restart"
            causes[f"a 200 not recorded ({ok} of {len(receipts)}), {what} between"] += (
                len(receipts) - 1
            )
    for cause, n in causes.most_common():
        print(f"  duplicates: {n}: {cause}")
    print(f"drain: {drain:.1f} s after the load stopped, {since_fault:.1f} s after the last fault")
    print(f"throughput: {len(load.acked) / load_seconds:.1f} acked webhooks/s, "
          f"{items_acked / load_seconds:.1f} items/s over {load_seconds:.0f} s of load; "
          f"load average now {os.getloadavg()}")  # fmt: skip
    bad = bool(lost or phantom or two_ids)
    print("RESULT:", "FINDINGS" if bad else "clean", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
