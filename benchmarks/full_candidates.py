"""A claim whose candidates are all full: the second pass (a full probe) against a claim that
leases on its first pass, at a backlog of 10,000 and of 1,000,000 deliveries queued behind the
full endpoints.

    python benchmarks/full_candidates.py "postgresql://.../scratch" [claims] [batch] [backlogs]

Endpoints of tenant 'bench' (made if missing; every other 'bench' endpoint is paused): eight
at their max_in_flight (1, one delivery leased for a day), eight behind a breaker forced open,
and eight others with room. The backlog (default `10000,1000000`, comma-separated) is queued on
the sixteen full ones, due first; 10,000 deliveries more on the other eight, due after. Each
claim (the runner's statement, `queries.CLAIM`, `batch` rows, default 32; its results
completed at once, all 2xx, not timed) is made with this session's candidates set just
before it (the setting `hookline.claim_cursor`, as a full probe of this session would have
left it, docs/delivery.md, "Idle endpoints and the full probe"):

- first pass: the candidates are the eight with room, and the claim leases from them;
- second pass: the candidates are the sixteen full ones, so the claim locks them, finds no
  room, makes a full probe and leases from the eight others;
- full probe: no candidates (as after a short claim): one full probe, which locks the full
  endpoints with the others (at most batch endpoints have due work: no skipping).

In rounds of `claims` claims per mode (default 40), the modes in the order first, second,
full, full, second, first (so that load drifting over the run moves each alike), it prints the
median claim time of each mode and second pass / first pass and second pass / full probe.

With `--against OTHER/functions SCRATCH_B` (anywhere on the command line) it measures two
versions of the functions in the same run: this checkout's on SCRATCH and OTHER's (another
checkout's functions/, over this checkout's migrations) on SCRATCH_B, a second database of the
same server, each with the same endpoints and queue; every round of claims runs on one and
then the other, the order alternating from round to round, and it prints each version's
medians and other / this per mode. On a loaded machine, two runs one after the other differ
by more than the versions do; claims interleaved see the same load.

Use databases you can throw away: it truncates hookline's queue tables.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import psycopg
from bench_common import prepare, reset_endpoints
from psycopg.types.json import Jsonb

from hookline import queries
from hookline.migrator import Migrator

FULL = [f"fc-full-{i}" for i in range(8)]
OPEN = [f"fc-open-{i}" for i in range(8)]
OTHER = [f"fc-other-{i}" for i in range(8)]

SETUP = """
truncate hookline.deliveries, hookline.attempts, hookline.dead_letters, hookline.events cascade;
"""

# n events and deliveries, spread over the named endpoints in turn, due from `at` on.
QUEUE = """
with ep as (
  select e.endpoint_id, row_number() over (order by e.name) - 1 as k, count(*) over () as m
  from hookline.endpoints e where e.name = any(%(names)s)
),
ev as (
  insert into hookline.events (received_at, source_id, tenant_id, external_id, event_type, payload)
  select now() - %(at)s::interval + i * interval '1 microsecond', s.source_id, 'bench',
    %(tag)s || '-' || i, 'bench.event', '{"n": 1}'
  from generate_series(1, %(n)s::int) i, hookline.sources s where s.name = 'bench'
  returning event_id, received_at
)
insert into hookline.deliveries (endpoint_id, event_id, event_received_at, next_attempt_at, created_at, tenant_id)
select ep.endpoint_id, ev.event_id, ev.received_at, ev.received_at, ev.received_at, 'bench'
from ev join ep on ep.k = ev.event_id %% ep.m
"""

# The oldest delivery of each of the max_in_flight-1 endpoints, leased for a day: they are full.
HOLD = """
update hookline.deliveries d
set state = 'in_flight', lease_token = gen_random_uuid(), runner = 'holder',
  next_attempt_at = now() + interval '1 day', lease_order = nextval('hookline.deliveries_lease_order_seq')
where d.delivery_id in (
  select (select f.delivery_id from hookline.deliveries f where f.endpoint_id = e.endpoint_id
          order by f.next_attempt_at limit 1)
  from hookline.endpoints e where e.name = any(%(names)s)
)
"""

# This session's candidates, as its last full probe would have left them (the rest of the
# setting, the claim and lease cursors, as the last claim left it).
HINT = """
select pg_catalog.set_config('hookline.claim_cursor',
  (coalesce(nullif(pg_catalog.current_setting('hookline.claim_cursor', true), '')::jsonb, '{}')
   || jsonb_build_object('c', %(c)s::bigint[]::text, 'ca', now(), 'cd', 1000))::text, false)
"""

CURSOR = "select pg_catalog.current_setting('hookline.claim_cursor')"


def ids(conn: psycopg.Connection, names: list[str]) -> list[int]:
    return [r[0] for r in conn.execute(
        "select endpoint_id from hookline.endpoints where name = any(%s) order by endpoint_id", (names,)
    )]  # fmt: skip


def claims(conn: psycopg.Connection, candidates: list[int] | None, count: int, batch: int, other: set[int]) -> list[float]:  # fmt: skip
    """count claims, each with these candidates; each claim's time in ms."""
    params = {"runner": "bench", "max_rows": batch, "lease": timedelta(seconds=30)}
    times: list[float] = []
    for _ in range(count):
        (hint,) = conn.execute(HINT, {"c": candidates}).fetchone()
        t = time.perf_counter()
        rows = conn.execute(queries.CLAIM, params).fetchall()
        times.append((time.perf_counter() - t) * 1000)
        # A full probe ran (the second pass, or the only one) exactly when it should: it
        # stamps the setting's "ca" with the claim's now.
        (after,) = conn.execute(CURSOR).fetchone()
        probed = json.loads(after)["ca"] != json.loads(hint)["ca"]
        assert probed == (candidates is None or not set(candidates) <= other), "wrong pass"
        # Every claim leases a full batch, from the endpoints with room only.
        assert len(rows) == batch, f"a claim leased {len(rows)} of {batch}"
        assert {r[9] for r in rows} <= other, "a claim leased from a full endpoint"
        results = [{"delivery_id": r[0], "lease_token": r[1], "status_code": 200} for r in rows]
        conn.execute(queries.COMPLETE, {"results": Jsonb(results)}).fetchall()
    return times


def build(conn: psycopg.Connection, backlog: int) -> tuple[list[int], list[int]]:
    """The queue of one backlog; the ids of the full endpoints and of the others."""
    conn.execute(SETUP)
    conn.execute("vacuum hookline.deliveries")
    conn.execute(QUEUE, {"names": FULL + OPEN, "n": backlog, "at": "2 hours", "tag": "f"})
    conn.execute(QUEUE, {"names": OTHER, "n": 10000, "at": "1 hour", "tag": "o"})
    conn.execute(HOLD, {"names": FULL})
    conn.execute("analyze hookline.deliveries")
    conn.execute("checkpoint")  # not the writes of building the queue during the claims
    return ids(conn, FULL + OPEN), ids(conn, OTHER)


def case(conns: list[psycopg.Connection], backlog: int, count: int, batch: int) -> list[dict[str, float]]:  # fmt: skip
    """The medians of each mode, per connection (one version of the functions each)."""
    built = [build(c, backlog) for c in conns]
    times: list[dict[str, list[float]]] = [{} for _ in conns]
    order = ("first pass", "second pass", "full probe", "full probe", "second pass", "first pass")
    for n, mode in enumerate(order):
        turn = list(enumerate(conns)) if n % 2 == 0 else list(reversed(list(enumerate(conns))))
        for k, c in turn:
            full, other = built[k]
            candidates = {"first pass": other, "second pass": full, "full probe": None}[mode]
            times[k].setdefault(mode, []).extend(claims(c, candidates, count, batch, set(other)))
    return [{m: statistics.median(t) for m, t in v.items()} for v in times]


def setup(dsn: str, conn: psycopg.Connection, functions: Path | None) -> None:
    """Deploy (this checkout's functions, or those of another folder) and make the endpoints."""
    if functions is None:
        prepare(dsn, conn)
    else:
        Migrator(dsn, functions=functions).deploy()
        conn.execute(
            "insert into hookline.tenants values ('bench', 'Bench') on conflict do nothing"
        )
        conn.execute(
            "insert into hookline.sources (tenant_id, name, kind, signing_secrets) "
            "values ('bench', 'bench', 'whatsapp', '{s}') on conflict do nothing"
        )
    conn.execute("select hookline.premake_partitions()")
    reset_endpoints(conn, {**dict.fromkeys(FULL, 1), **dict.fromkeys(OPEN + OTHER, 10000)})
    for name in OPEN:
        conn.execute(
            "select hookline.set_breaker('endpoint:' || endpoint_id, 'open', 'bench') "
            "from hookline.endpoints where name = %s",
            (name,),
        )


def line(backlog: int, f: dict[str, float]) -> str:
    return (f"  backlog {backlog:>9,} behind 16 full endpoints: first pass {f['first pass']:.2f}, "
            f"second pass {f['second pass']:.2f}, full probe {f['full probe']:.2f}; "
            f"second / first = {f['second pass'] / f['first pass']:.2f}, "
            f"second / full probe = {f['second pass'] / f['full probe']:.2f}")  # fmt: skip


def main() -> None:
    argv = sys.argv[1:]
    against: tuple[Path, str] | None = None
    if "--against" in argv:
        at = argv.index("--against")
        if len(argv) < at + 3:
            raise SystemExit(
                "--against needs another checkout's functions/ folder and a second scratch DSN"
            )
        against = (Path(argv[at + 1]).resolve(), argv[at + 2])
        if not (against[0] / "index.sql").is_file():
            raise SystemExit(
                f"--against {against[0]}: no index.sql there (a checkout's functions/)"
            )
        del argv[at : at + 3]
    dsn = argv[0]
    count = int(argv[1]) if len(argv) > 1 else 40
    batch = int(argv[2]) if len(argv) > 2 else 32
    backlogs = [int(b) for b in argv[3].split(",")] if len(argv) > 3 else [10000, 1000000]
    if batch < len(FULL + OPEN + OTHER):
        raise SystemExit(f"batch must be at least {len(FULL + OPEN + OTHER)}: no claim may skip")
    targets: list[tuple[str, Path | None]] = [(dsn, None)] + (
        [(against[1], against[0])] if against else []
    )
    conns = [psycopg.connect(d, autocommit=True) for d, _ in targets]
    try:
        for (d, functions), c in zip(targets, conns, strict=True):
            setup(d, c, functions)
        figures = {b: case(conns, b, count, batch) for b in backlogs}
        for c in conns:
            c.execute(SETUP)
    finally:
        for c in conns:
            c.close()
    print(f"claims of {batch}, {2 * count} per mode and backlog; median ms per claim:")
    for backlog, per_version in figures.items():
        if against:
            print("  this checkout's functions:")
        print(line(backlog, per_version[0]))
        if against:
            this, other = per_version
            print(f"  {against[0]}:")
            print(line(backlog, other))
            print("  other / this: " + ", ".join(f"{m} {other[m] / this[m]:.2f}" for m in this))


if __name__ == "__main__":
    main()
