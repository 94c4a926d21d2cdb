"""The outbox crash ledger: messages queued by handler processes through
`hookline.send_message`, sent by real runners to a fake Graph API on 127.0.0.1 while runners
are killed, PostgreSQL crashes and the Graph API flaps; then a ledger of what every committed
message became at WhatsApp. Not a test: it runs for minutes and its faults are random.

    .venv/bin/python benchmarks/outbox_ledger.py [--messages 15000] [--rate 120] [--seed 1]
        [--kill-every 20] [--restart-every 60] [--flap 0.2] [--statuses 0.75] [--port 56180]

It starts a private PostgreSQL of its own (durable, as crash_ledger.py: bench_common.
private_postgres) on --port, deploys with `hookline db deploy`, and sets up through the CLI two
tenants: acme (source wa-acme, numbers ...901 and ...902) and beta (source wa-beta, number
...903), each number with its own messages_per_second (40, 25, 35), a pair interval of
--pair-interval s, unconfirmed_wait --unconfirmed-wait s, a 1 s timeout; through SQL a short
retry schedule (0.5 s to 8 s, 6 tries) and breakers that cool down in 2 s (at most 10 s). A
trigger logs every claim (runner, number, recipient, time): a message's last_claimed_at holds
only its latest.

The fake Graph API (tests/fake_graph.py) records every POST (its number, arrival time, the
outbox id in `biz_opaque_callback_data` and the message's unique text) and, for --flap of the
time in stretches of 1 to 4 s, answers 500, times out (accepted: it answers 200 after 1.5 s,
past the timeout), resets the connection (not accepted), answers 429/130429 or 131056, else
200 with a wamid. --handlers handler processes (this script, --handler N) queue --messages
messages at --rate a second, each in its own transaction with a write of its own
(public.ledger_orders); --rollback of them are rolled back on purpose after send_message
returned (they must never be sent); a transaction that fails (PostgreSQL down) is retried with
the same idempotency key. Most recipients are new; --repeat of the messages go to a handler's
few repeated recipients (the pair limit applies, and their order is checked). Two
`hookline runner` processes (`--metrics-port 0`, lease 3 s) and `hookline ingress` are
SIGKILLed every --kill-every s on average and started again; PostgreSQL is stopped with
`pg_ctl -m immediate` every --restart-every s on average. For --statuses of the messages the
Graph API accepted, status webhooks (sent, then delivered and read; 2 % failed with the
transient code 131000, which queues a new send, 1 % failed with 131026) are posted back,
signed, through the ingress, 2 to 12 s after the send, until answered 200.

When the handlers are done, the faults stop, the Graph API answers 200 and the ledger waits
until nothing is queued, sending or unconfirmed and every status is posted (the drain). The
ledger, per committed message (in hookline.outbox): sent once, sent more than once (by cause),
never sent (failed or dead with a reason; anything else is LOST); PHANTOM: a POST of a message
rolled back, or an outbox row of one; a message committed (its commit returned) and not in
the outbox, or an outbox row without the handler's own write (torn). Per number, the most
claims and the most POSTs arriving in any sliding second against its limit; per recipient, the
most claims within the pair interval; per repeated recipient, messages accepted out of their
commit order (by cause). Exit status 1 when anything is lost, phantom or torn, a number's
claims exceeded its limit in a sliding second, more POSTs of a number than its limit arrived at
the Graph API in a sliding second (WhatsApp would answer 130429: the limit holds on the sends'
starts, claim_messages' send margin), the pair limit was exceeded, an extra send has no cause,
or a recipient's message was sent before an older one that was queued (for a retry or a
pair-limit wait) or not claimed yet. It also counts the claimed messages the runners gave back
unsent, not started within the send margin of their claim (their logs' "released N unsent").
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import heapq
import itertools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psycopg
from bench_common import Faults, Flapping, Processes, hookline, private_postgres

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.fake_graph import FakeGraph, GraphRequest
from tests.ingress_helpers import sign

from hookline.pgcluster import free_port

# phone_number_id: (tenant, source, messages_per_second)
NUMBERS = {
    "106540352242901": ("acme", "wa-acme", 40),
    "106540352242902": ("acme", "wa-acme", 25),
    "106540352242903": ("beta", "wa-beta", 35),
}
SOURCES = {"wa-acme": "acme", "wa-beta": "beta"}
KEY = re.compile(r"^ledger (h\d+-\d+)$")
RETRY_SCHEDULE = "{0.5 s, 1 s, 2 s, 4 s, 8 s, 8 s}"
TOKEN = "EAAG-ledger-token"
POOL = 6  # repeated recipients per handler


def plan(handler: int, n: int, seed: int, repeat: float, rollback: float) -> tuple[str, str, bool]:
    """(number, recipient, rolled back) of a handler's message n: the same in the handler and
    in the ledger."""
    rng = random.Random(seed * 1_000_003 + handler * 100_003 + n)
    numbers = sorted(NUMBERS)
    if rng.random() < repeat:
        k = rng.randrange(POOL)
        number, recipient = numbers[k % len(numbers)], f"+1777{handler:02d}{k:04d}"
    else:
        number, recipient = rng.choice(numbers), f"+1555{handler:02d}{n:07d}"
    return number, recipient, rng.random() < rollback


def handler_main(args: argparse.Namespace) -> int:
    """A handler process: its messages, one transaction each (a write of its own and
    send_message), paced at its share of --rate; a journal line per outcome."""

    class Rollback(Exception):
        pass

    conn: psycopg.Connection | None = None
    pace = args.handlers / args.rate
    start = time.monotonic()
    with open(args.journal, "a", buffering=1) as journal:
        for n in range(args.handler_share):
            time.sleep(max(0.0, start + n * pace - time.monotonic()))
            key = f"h{args.handler}-{n}"
            number, recipient, rolled_back = plan(args.handler, n, args.seed, args.repeat, args.rollback)  # fmt: skip
            source = NUMBERS[number][1]
            message = json.dumps({"type": "text", "text": {"body": f"ledger {key}"}})
            while True:
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(args.dsn, connect_timeout=5)
                    with conn.transaction():
                        conn.execute("insert into public.ledger_orders values (%s) on conflict do nothing", (key,))  # fmt: skip
                        message_id = conn.execute(
                            'select hookline.send_message(source => %s, "to" => %s, message => %s, '
                            "idempotency_key => %s, phone_number_id => %s)",
                            (source, recipient, message, key, number),
                        ).fetchone()[0]
                        if rolled_back:
                            journal.write(f"rolled_back {key} {message_id}\n")
                            raise Rollback
                    journal.write(f"committed {key} {message_id}\n")
                    break
                except Rollback:
                    break
                except psycopg.Error:
                    # PostgreSQL restarting: the same key again (a commit in doubt that did
                    # commit returns its message, queues nothing).
                    with contextlib.suppress(psycopg.Error):
                        if conn is not None:
                            conn.close()
                    conn = None
                    time.sleep(0.2)
    return 0


class Flap(Flapping):
    """The Graph API's answers: for --flap of the time, in stretches of 1 to 4 s, one kind of
    failure (per stretch), else 200 with a wamid; always 200 once healthy."""

    KINDS = ("500", "timeout", "reset", "130429", "131056")

    def __init__(self, flap: float, seed: int) -> None:
        super().__init__(flap, seed)
        self.answers: collections.Counter[str] = collections.Counter()

    def choose(self, req: GraphRequest) -> object:
        mode = "ok" if self.healthy else self.mode
        self.answers[mode] += 1
        return {
            "ok": "ok",
            "500": ("error", 500, None),
            "timeout": ("slow", 1500),  # accepted; the answer comes after the 1 s timeout
            "reset": "reset",  # not accepted
            "130429": ("error", 429, 130429),
            "131056": ("error", 400, 131056),
        }[mode]


class Statuses:
    """Status webhooks for the messages the Graph API accepted, posted signed through the
    ingress (grouped per number, up to 20 in a body) until answered 200."""

    def __init__(self, graph: FakeGraph, url: str, secrets: dict[str, str], share: float, seed: int) -> None:  # fmt: skip
        self.graph, self.url, self.secrets, self.share = graph, url, secrets, share
        self.rng = random.Random(seed + 13)
        self.lock = threading.Lock()
        self.due: list[tuple[float, int, str, str, dict[str, object]]] = []  # heap
        self.seq = 0
        self.scanned = 0
        self.failures_allowed = True
        self.acked: list[tuple[str, str, float, int | None]] = []  # wamid, status, acked at, code
        self.posts: collections.Counter[str] = collections.Counter()
        self.in_flight = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.scan, daemon=True)]
        self.threads += [threading.Thread(target=self.post, daemon=True) for _ in range(3)]
        for t in self.threads:
            t.start()

    def idle(self) -> bool:
        with self.lock, self.graph.lock:
            return not self.due and not self.in_flight and self.scanned == len(self.graph.requests)

    def scan(self) -> None:
        """Takes each request 2 s after it arrived, once answered (a slow one has its wamid)."""
        while not self.stop.wait(0.2):
            cutoff = time.time() - 2
            with self.graph.lock:
                pending = self.graph.requests[self.scanned :]
            for req in pending:
                slow = isinstance(req.answer, tuple) and req.answer[0] == "slow"
                if req.at >= cutoff or req.answer is None or (slow and req.wamid is None):
                    break  # next round
                with self.lock:
                    self.scanned += 1
                    if req.wamid is not None and self.rng.random() < self.share:
                        self.schedule(req)

    def schedule(self, req: GraphRequest) -> None:
        number = req.path.strip("/").split("/")[1]
        base = {"id": req.wamid, "recipient_id": req.recipient.lstrip("+"),
                "biz_opaque_callback_data": req.body.get("biz_opaque_callback_data")}  # fmt: skip
        at = req.at + self.rng.uniform(2, 12)
        r = self.rng.random()
        if r < 0.02 and self.failures_allowed:
            chain = [("failed", 131000)]
        elif r < 0.03 and self.failures_allowed:
            chain = [("failed", 131026)]
        else:
            chain = [("sent", None)]
            if self.rng.random() < 0.5:
                chain.append(("delivered", None))
                if self.rng.random() < 0.5:
                    chain.append(("read", None))
        for status, code in chain:
            item = dict(base, status=status, timestamp=str(int(at)))
            if code is not None:
                item["errors"] = [{"code": code, "title": "ledger", "message": "ledger"}]
            self.seq += 1
            heapq.heappush(self.due, (at, self.seq, NUMBERS[number][1], number, item))
            at += self.rng.uniform(0.1, 2)

    def post(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self.stop.is_set():
                with self.lock:
                    if not self.due or self.due[0][0] > time.time():
                        batch = []
                    else:
                        _, _, source, number, first = heapq.heappop(self.due)
                        batch = [first]
                        while self.due and self.due[0][0] <= time.time() and len(batch) < 20 and self.due[0][3] == number:  # fmt: skip
                            batch.append(heapq.heappop(self.due)[4])
                        self.in_flight += 1
                if not batch:
                    time.sleep(0.05)
                    continue
                body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1022", "changes": [{
                    "field": "messages", "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": number[-8:], "phone_number_id": number},
                        "statuses": batch}}]}]}).encode()  # fmt: skip
                headers = {"content-type": "application/json",
                           "x-hub-signature-256": sign(self.secrets[source], body)}  # fmt: skip
                while not self.stop.is_set():
                    try:
                        status = str(http.post(f"{self.url}/webhooks/{source}", content=body, headers=headers).status_code)  # fmt: skip
                    except httpx.TransportError as e:
                        status = type(e).__name__
                    with self.lock:
                        self.posts[status] += 1
                    if status == "200":
                        with self.lock:
                            now = time.time()
                            for item in batch:
                                code = item["errors"][0]["code"] if "errors" in item else None
                                self.acked.append((item["id"], item["status"], now, code))
                        break
                    time.sleep(0.2)
                with self.lock:
                    self.in_flight -= 1


def max_in_window(times: list[float], window: float) -> int:
    """The most of these (sorted) times in any half-open window [t, t + window)."""
    most, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=15_000, help="messages the handlers queue (rolled back ones included)")  # fmt: skip
    parser.add_argument("--rate", type=float, default=120, help="messages queued a second, over all handlers")  # fmt: skip
    parser.add_argument("--handlers", type=int, default=4, help="handler processes")
    parser.add_argument("--rollback", type=float, default=0.05, help="share of transactions rolled back on purpose")  # fmt: skip
    parser.add_argument("--repeat", type=float, default=0.05, help="share of messages to a handler's few repeated recipients")  # fmt: skip
    parser.add_argument("--pair-interval", type=float, default=2, help="the numbers' pair interval, seconds")  # fmt: skip
    parser.add_argument("--unconfirmed-wait", type=float, default=8, help="the numbers' unconfirmed_wait, seconds")  # fmt: skip
    parser.add_argument("--statuses", type=float, default=0.75, help="share of accepted messages whose status webhooks are posted back (0: none)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kill-every", type=float, default=20, help="mean seconds between SIGKILLs of a runner or the ingress (0: none)")  # fmt: skip
    parser.add_argument("--restart-every", type=float, default=60, help="mean seconds between immediate PostgreSQL restarts (0: none)")  # fmt: skip
    parser.add_argument("--lock-every", type=float, default=0, help="mean seconds between locks of the outbox and the senders, as a deploy's migration takes them (0: none)")  # fmt: skip
    parser.add_argument("--lock-for", type=float, default=0.5, help="seconds each such lock is held")  # fmt: skip
    parser.add_argument("--flap", type=float, default=0.2, help="share of the time the Graph API fails (0: never)")  # fmt: skip
    parser.add_argument("--port", type=int, default=56180, help="the private PostgreSQL's port (0: any free one)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    # a handler process (started by the ledger)
    parser.add_argument("--handler", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--handler-share", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--journal", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.handler is not None:
        return handler_main(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop everything it started

    root = Path(tempfile.mkdtemp(prefix="hookline-outbox-ledger-"))
    os.chmod(root, 0o755)
    flap = Flap(args.flap, args.seed)
    graph = FakeGraph()
    graph.chooser = flap.choose
    graph.server.handle_error = lambda *_: None  # type: ignore[method-assign]  # a runner killed mid-request
    graph.start()
    pg = procs = faults = statuses = None
    handlers: list[subprocess.Popen[bytes]] = []
    print(f"outbox ledger: seed {args.seed}, {args.messages} messages at {args.rate}/s from {args.handlers} handlers "
          f"(rolled back {args.rollback}, repeated recipients {args.repeat}), kill every {args.kill_every} s, "
          f"PostgreSQL restart every {args.restart_every} s, flap {args.flap}, statuses {args.statuses}; "
          f"logs in {root}; load average {os.getloadavg()}", flush=True)  # fmt: skip
    try:
        pg, dsn = private_postgres(root, free_port() if args.port == 0 else args.port, "outbox_ledger")  # fmt: skip
        secrets = {source: f"app-secret-{source}-{args.seed}" for source in SOURCES}
        for source, tenant in SOURCES.items():
            hookline("sources", "add", source, "--tenant", tenant, "--create-tenant",
                     "--secret-env", "LEDGER_SECRET", dsn=dsn, env={"LEDGER_SECRET": secrets[source]})  # fmt: skip
        for number, (_, source, rate) in NUMBERS.items():
            hookline("senders", "add", number, "--source", source, "--token-env", "LEDGER_TOKEN",
                     "--messages-per-second", str(rate), "--pair-interval", str(args.pair_interval),
                     "--unconfirmed-wait", str(args.unconfirmed_wait), "--timeout-ms", "1000",
                     dsn=dsn, env={"LEDGER_TOKEN": TOKEN})  # fmt: skip
        with psycopg.connect(dsn, autocommit=True) as conn:
            for number in NUMBERS:
                conn.execute("select hookline.set_sender(%s, retry_schedule => %s)", (number, RETRY_SCHEDULE))  # fmt: skip
                conn.execute(
                    "select hookline.configure_breaker(target => 'sender:' || %s, "
                    "base_cooldown => '2 s', max_cooldown => '10 s')",
                    (number,),
                )
            conn.execute("create table public.ledger_orders (key text primary key)")
            conn.execute(
                "create table public.ledger_claims (message_id bigint, runner text, "
                "phone_number_id text, recipient text, at timestamptz)"
            )
            conn.execute(
                "create function public.ledger_claim() returns trigger language plpgsql "
                "set search_path = '' as $$ begin insert into public.ledger_claims "
                "values (new.message_id, new.runner, new.phone_number_id, new.recipient, new.last_claimed_at); "
                "return null; end $$"
            )
            conn.execute(
                "create trigger ledger_claim after update of last_claimed_at on hookline.outbox "
                "for each row when (new.last_claimed_at is distinct from old.last_claimed_at) "
                "execute function public.ledger_claim()"
            )
        port = free_port()
        runner = ["--lease", "3", "--poll", "1", "--graph-url", graph.url]
        procs = Processes(dsn, root, {
            "ingress": ["ingress", "--port", str(port), "--db-timeout", "2"],
            "runner-1": ["runner", "--name", "runner-1", *runner],
            "runner-2": ["runner", "--name", "runner-2", *runner],
        })  # fmt: skip
        ingress_url = f"http://127.0.0.1:{port}"
        procs.wait_healthy("ingress", ingress_url)
        faults = Faults(
            pg, procs, args.seed, args.kill_every, args.restart_every, clock=time.time,
            lock_every=args.lock_every, lock_for=args.lock_for, dsn=dsn,
            lock="lock table hookline.senders, hookline.outbox in access exclusive mode",
        )  # fmt: skip
        faults.start()
        statuses = Statuses(graph, ingress_url, secrets, args.statuses, args.seed)
        share = -(-args.messages // args.handlers)
        started = time.monotonic()
        for i in range(args.handlers):
            handlers.append(subprocess.Popen([
                sys.executable, __file__, "--handler", str(i), "--handler-share", str(share),
                "--handlers", str(args.handlers), "--rate", str(args.rate), "--seed", str(args.seed),
                "--repeat", str(args.repeat), "--rollback", str(args.rollback),
                "--dsn", dsn, "--journal", str(root / f"handler-{i}.journal"),
            ]))  # fmt: skip
        last_print = time.monotonic()
        while any(h.poll() is None for h in handlers):
            time.sleep(1)
            if time.monotonic() - last_print >= 30:
                last_print = time.monotonic()
                print(f"  {time.monotonic() - started:6.0f} s: Graph POSTs {len(graph.requests)}, kills {sum(faults.kills.values())}, "
                      f"restarts {faults.restarts}, status posts {sum(statuses.posts.values())}, "
                      f"load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        load_seconds = time.monotonic() - started
        if any(h.returncode for h in handlers):
            raise SystemExit(f"a handler failed: {[h.returncode for h in handlers]}")
        faults.stop.set()
        faults.join()
        flap.stop.set()
        flap.healthy = True
        statuses.failures_allowed = False
        procs.check()
        drain_from = time.monotonic()
        quiet = 0
        while quiet < 3:
            live = None
            with contextlib.suppress(psycopg.OperationalError), psycopg.connect(dsn, connect_timeout=5) as conn:  # fmt: skip
                live = conn.execute(
                    "select count(*) from hookline.outbox where next_attempt_at is not null"
                ).fetchone()[0]
            quiet = quiet + 1 if live == 0 and statuses.idle() else 0
            if time.monotonic() - drain_from > 900:
                print(f"the drain did not finish in 15 min ({live} live)", flush=True)
                break
            if time.monotonic() - last_print >= 30:
                last_print = time.monotonic()
                print(f"  drain {time.monotonic() - drain_from:5.0f} s: {live} live, statuses due {len(statuses.due)}", flush=True)  # fmt: skip
            procs.check()
            time.sleep(1)
        drain = time.monotonic() - drain_from
        return ledger(dsn, root, args, graph, flap, statuses, faults, load_seconds, drain)
    finally:
        for h in handlers:
            if h.poll() is None:
                h.terminate()
                h.wait()
        if statuses is not None:
            statuses.stop.set()
        if faults is not None:
            faults.stop.set()
        flap.stop.set()
        if procs is not None:
            procs.stop()
        graph.stop()
        if pg is not None:
            pg.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def ledger(dsn: str, root: Path, args: argparse.Namespace, graph: FakeGraph, flap: Flap,
           statuses: Statuses, faults: Faults, load_seconds: float, drain: float) -> int:  # fmt: skip
    committed: dict[str, int] = {}  # key -> outbox id, as the handler's commit returned it
    rolled: dict[str, list[int]] = collections.defaultdict(list)
    for journal in root.glob("handler-*.journal"):
        for line in journal.read_text().splitlines():
            what, key, message_id = line.split()
            (rolled[key].append(int(message_id)) if what == "rolled_back" else committed.__setitem__(key, int(message_id)))  # fmt: skip
    with psycopg.connect(dsn) as conn:
        rows = {
            r[0]: r[1:]
            for r in conn.execute(
                "select idempotency_key, message_id, state::text, last_error, attempt_count, "
                "throttle_count, wamid from hookline.outbox"
            )
        }
        orders = {r[0] for r in conn.execute("select key from public.ledger_orders")}
        claims = conn.execute(
            "select message_id, runner, phone_number_id, recipient, extract(epoch from at)::float8 "
            "from public.ledger_claims order by at"
        ).fetchall()
    requests = list(graph.requests)
    posts: dict[str, list[GraphRequest]] = collections.defaultdict(list)
    unknown_posts = []
    for req in requests:
        m = KEY.match(str(req.body.get("text", {}).get("body", "")))
        if not m:
            unknown_posts.append(req)
            continue
        posts[m.group(1)].append(req)
        cb = req.body.get("biz_opaque_callback_data")
        if m.group(1) in rows and cb != f"hookline:{rows[m.group(1)][0]}":
            unknown_posts.append(req)  # its text and its outbox id disagree
    accepted = {k: [r for r in reqs if r.wamid is not None] for k, reqs in posts.items()}
    claims_of: dict[int, list[tuple[float, str]]] = collections.defaultdict(list)
    for message_id, runner, _, _, at in claims:
        claims_of[message_id].append((at, runner))
    failed_status: dict[str, list[tuple[float, int]]] = collections.defaultdict(list)
    status_at: dict[str, float] = {}  # wamid -> its first status acknowledged by the ingress
    for wamid, status, at, code in statuses.acked:
        status_at.setdefault(wamid, at)
        if status == "failed":
            failed_status[wamid].append((at, code))

    in_db = set(rows)
    lost_commits = set(committed) - in_db  # a commit that returned, and no row
    torn = in_db ^ orders  # a row without the handler's write, or the write without its row
    phantom_rows = in_db & set(rolled)
    phantom_posts = {k for k in posts if k not in in_db}
    once = {k for k in in_db if len(accepted.get(k, [])) == 1}
    more = {k for k in in_db if len(accepted.get(k, [])) > 1}
    never = {k for k in in_db if not accepted.get(k)}
    never_by: collections.Counter[str] = collections.Counter()
    lost: list[str] = []
    for k in never:
        _, state, last_error, *_ = rows[k]
        if state in ("failed", "dead") and last_error:
            never_by[f"{state}: {last_error.split(':')[0]}"] += 1
        else:
            lost.append(k)
    states = collections.Counter(rows[k][1] for k in in_db)
    sent_without_accept = [k for k in in_db if rows[k][1] in ("sent", "delivered", "read") and not accepted.get(k)]  # fmt: skip
    wrong_wamid = [k for k in in_db if rows[k][5] and rows[k][5] not in {r.wamid for r in accepted.get(k, [])}]  # fmt: skip

    # Each send after a message's first accepted one, by what made it.
    causes: collections.Counter[str] = collections.Counter()
    unexplained: list[str] = []
    restarts = [(a, b) for a, b, what in faults.log if what.startswith("PostgreSQL")]
    for k in more:
        message_id = rows[k][0]
        reqs = accepted[k]
        for prev, nxt in itertools.pairwise(reqs):
            fails = [
                (at, code) for at, code in failed_status.get(prev.wamid or "", []) if at <= nxt.at
            ]
            mine = [runner for at, runner in claims_of[message_id] if at <= prev.at]
            runner = mine[-1] if mine else "?"
            killed = [a for a, b, what in faults.log if what == f"SIGKILL {runner}" and prev.at - 0.5 <= a <= nxt.at]  # fmt: skip
            restarted = [a for a, b in restarts if prev.at - 0.5 <= b and a <= nxt.at]
            slow = isinstance(prev.answer, tuple) and prev.answer[0] == "slow"
            seen = status_at.get(prev.wamid or "")
            if fails and fails[0][1] == 131000:
                causes["a failed status (131000, transient) queued a new send: legitimate"] += 1
            elif killed:
                causes["its runner SIGKILLed after the POST, before complete (lease expired)"] += 1
            elif restarted:
                causes["a PostgreSQL restart between the POST and complete"] += 1
            elif slow and seen is None:
                causes["the answer timed out (Graph had accepted it), no status posted: resent after unconfirmed_wait"] += 1  # fmt: skip
            elif slow and seen > prev.at + args.unconfirmed_wait:
                causes["the answer timed out (Graph had accepted it), its status came after unconfirmed_wait"] += 1  # fmt: skip
            elif slow and seen > nxt.at:
                causes["the answer timed out (Graph had accepted it), resent before its status came"] += 1  # fmt: skip
            else:
                causes["unexplained"] += 1
                unexplained.append(k)

    # The rate: per number, the most claims (every claim, the trigger's log) and the most POSTs
    # arriving at the Graph API in any sliding second.
    limits = {n: rate for n, (_, _, rate) in NUMBERS.items()}
    claim_times: dict[str, list[float]] = collections.defaultdict(list)
    pair_times: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    for _, _, number, recipient, at in claims:
        claim_times[number].append(at)
        pair_times[(number, recipient)].append(at)
    arrivals: dict[str, list[float]] = collections.defaultdict(list)
    for req in requests:
        arrivals[req.path.strip("/").split("/")[1]].append(req.at)
    rate_rows = []
    rate_violations = []
    arrival_violations = []  # WhatsApp counts what reaches it (130429)
    # Claimed messages a runner gave back unsent: not started within the send margin.
    unsent = sum(int(n) for log in root.glob("runner-*.log")
                 for n in re.findall(r"released (\d+) unsent messages", log.read_text(errors="replace")))  # fmt: skip
    for number, limit in limits.items():
        by_claims = max_in_window(sorted(claim_times[number]), 1.0)
        by_arrivals = max_in_window(sorted(arrivals[number]), 1.0)
        rate_rows.append((number, limit, by_claims, by_arrivals))
        if by_claims > limit:
            rate_violations.append(number)
        if by_arrivals > limit:
            arrival_violations.append(number)
    # How long after its claim a POST arrived (the claim is what the limit counts).
    delays = []
    for req in requests:
        m = KEY.match(str(req.body.get("text", {}).get("body", "")))
        if m and m.group(1) in rows:
            before = [at for at, _ in claims_of[rows[m.group(1)][0]] if at <= req.at]
            if before:
                delays.append(req.at - before[-1])
    delays.sort()
    pair_most = max((max_in_window(sorted(t), args.pair_interval) for t in pair_times.values()), default=0)  # fmt: skip
    pair_over = sorted(p for p, t in pair_times.items() if max_in_window(sorted(t), args.pair_interval) > 1)  # fmt: skip

    # The order of a repeated recipient's messages: accepted (first time) in commit order?
    order_causes: collections.Counter[str] = collections.Counter()
    order_checked = 0
    disordered: list[tuple[str, str]] = []  # overtaken where the order is promised
    for handler in range(args.handlers):
        by_recipient: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
        for n in range(-(-args.messages // args.handlers)):
            key = f"h{handler}-{n}"
            if key in in_db:
                _, recipient, _ = plan(handler, n, args.seed, args.repeat, args.rollback)
                if recipient.startswith("+1777"):
                    by_recipient[recipient].append((n, key))
        for keys in by_recipient.values():
            firsts = [(accepted[k][0].at if accepted.get(k) else None, k) for _, k in keys]
            for i, (at_i, k_i) in enumerate(firsts):
                for at_j, k_j in firsts[i + 1 :]:
                    if at_i is None or at_j is None:
                        continue
                    order_checked += 1
                    if at_j < at_i:
                        earlier = [r for r in posts[k_i] if r.at < at_j]
                        last = earlier[-1].answer if earlier else None
                        claimed = [at for at, _ in claims_of[rows[k_i][0]] if at < at_j]
                        if last in ("reset", ("slow", 1500)):
                            # unconfirmed: an ambiguous send does not hold its recipient
                            order_causes["while the earlier one was unconfirmed (its answer lost: timeout or reset)"] += 1  # fmt: skip
                        elif earlier:
                            order_causes["while the earlier one was queued for its retry (5xx, 130429, 131056)"] += 1  # fmt: skip
                            disordered.append((k_i, k_j))
                        elif claimed:
                            order_causes["the earlier one's claim lost (its runner killed or a restart) until its lease expired"] += 1  # fmt: skip
                        else:
                            order_causes["the later one claimed first"] += 1
                            disordered.append((k_i, k_j))

    print("\n=== outbox crash ledger ===")
    print(f"handlers' transactions: committed {len(committed)}, rolled back on purpose {len(rolled)}; "
          f"outbox rows {len(in_db)} ({dict(states.most_common())})")  # fmt: skip
    print(f"Graph API: {len(requests)} POSTs, answers {dict(flap.answers.most_common())}; accepted (a wamid) "
          f"{sum(len(v) for v in accepted.values())}; POSTs not of a ledger message or whose outbox id disagrees: {len(unknown_posts)}")  # fmt: skip
    print(f"status webhooks acknowledged {len(statuses.acked)} ({dict(collections.Counter(s for _, s, _, _ in statuses.acked))}); "
          f"status POSTs {dict(statuses.posts)}")  # fmt: skip
    print(f"sent once {len(once)}; sent more than once {len(more)} (extra sends {sum(len(accepted[k]) - 1 for k in more)}); "
          f"never sent {len(never)}: {dict(never_by.most_common())}")  # fmt: skip
    for cause, n in causes.most_common():
        print(f"  extra sends: {n}: {cause}")
    print(f"LOST (committed, never sent, not failed or dead with a reason): {len(lost)} "
          f"{[(k, rows[k][1], rows[k][2]) for k in sorted(lost)[:10]]}")  # fmt: skip
    print(f"LOST COMMITS (the commit returned, no outbox row): {len(lost_commits)} {sorted(lost_commits)[:10]}")  # fmt: skip
    print(f"TORN (an outbox row without the handler's own write, or the reverse): {len(torn)} {sorted(torn)[:10]}")  # fmt: skip
    print(f"PHANTOM (rolled back, yet an outbox row or a POST): rows {len(phantom_rows)}, posted {len(phantom_posts)} "
          f"{sorted(phantom_rows | phantom_posts)[:10]}")  # fmt: skip
    print(f"sent, delivered or read without an accepted POST: {len(sent_without_accept)}; a wamid Graph did not give it: {len(wrong_wamid)}")  # fmt: skip
    for number, limit, by_claims, by_arrivals in rate_rows:
        print(f"rate {number}: limit {limit}/s; most claims in any sliding second {by_claims}; "
              f"most POSTs arriving at the Graph API in any sliding second {by_arrivals}")  # fmt: skip
    print(f"claimed messages given back unsent (not started within the send margin of their claim): {unsent}")  # fmt: skip
    if delays:
        print(f"a POST's arrival after its claim: median {1000 * delays[len(delays) // 2]:.0f} ms, "
              f"99th percentile {1000 * delays[int(len(delays) * 0.99)]:.0f} ms, most {1000 * delays[-1]:.0f} ms "
              f"({sum(d > 0.1 for d in delays)} of {len(delays)} over 100 ms)")  # fmt: skip
    print(f"pair limit (1 per {args.pair_interval} s): most claims of one (number, recipient) in any {args.pair_interval} s: "
          f"{pair_most}; pairs over it {len(pair_over)} {pair_over[:5]}")  # fmt: skip
    print(f"order of repeated recipients' messages (first accepted send, commit order): {order_checked} pairs checked, "
          f"{sum(order_causes.values())} out of order {dict(order_causes)}; where the order is promised: {disordered[:5]}")  # fmt: skip
    print(f"faults: SIGKILL {dict(faults.kills)}, PostgreSQL immediate restarts {faults.restarts} "
          f"({faults.outage:.1f} s down in all), locks of the outbox and senders {faults.locks} "
          f"({faults.lock_for} s each)")  # fmt: skip
    print(f"load: {len(committed) + len(rolled)} transactions in {load_seconds:.0f} s "
          f"({(len(committed) + len(rolled)) / load_seconds:.1f}/s); drain {drain:.1f} s; load average now {os.getloadavg()}")  # fmt: skip
    bad = bool(lost or lost_commits or torn or phantom_rows or phantom_posts or rate_violations
               or arrival_violations or pair_over or sent_without_accept or wrong_wamid or unexplained or unknown_posts or disordered)  # fmt: skip
    print("RESULT:", "FINDINGS" if bad else "clean", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
