"""Idle endpoints and the full probe (docs/delivery.md): between full probes a claim probes only
its session's candidates, the endpoints the last full probe found with due work. The hint is
per session: another session's claims and a setting another client left on a pooled server
connection change which endpoints a claim probes, never what it may claim.

Probes are counted, not timed: the index scans of the due index in the claim's transaction
(pg_stat_get_xact_numscans), one per endpoint probed plus one per endpoint claimed from."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests import pgbouncer as bouncer_mod
from tests.conftest import Server, require
from tests.integration.conftest import scalar

IDLE = 200
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SCANS = (
    "select pg_stat_get_xact_numscans("
    "'hookline.deliveries_endpoint_id_next_attempt_at_idx'::regclass)"
)
CURSOR = "select current_setting('hookline.claim_cursor', true)"


def claim(c: psycopg.Connection, max_rows: int, at: datetime) -> tuple[list[str], int]:
    """A claim in a transaction of its own at `at`: the URL of each claimed row and the due
    index's scans it made."""
    with c.transaction():
        before = scalar(c, SCANS)
        rows = c.execute(
            "select url from hookline.claim('r', %s, '10 minutes', %s)", (max_rows, at)
        ).fetchall()
        scans = scalar(c, SCANS) - before
    return [url.rsplit("/", 1)[1] for (url,) in rows], scans


def add_endpoint(conn: psycopg.Connection, name: str, max_in_flight: int = 1000) -> int:
    endpoint_id = scalar(
        conn,
        "select endpoint_id from hookline.add_endpoint(tenant => 'acme', name => %s, "
        "url => 'http://127.0.0.1:9/' || %s, max_in_flight => %s)",
        (name, name, max_in_flight),
    )
    conn.execute("select hookline.add_subscription(endpoint => %s, event_type_pattern => %s)",
                 (name, f"test.{name}"))  # fmt: skip
    return int(endpoint_id)


def ingest(conn: psycopg.Connection, name: str, count: int, at: datetime) -> None:
    conn.execute(
        "select hookline.ingest('acme-wa', %s || '-' || i || '-' || %s, 'test.' || %s, '{}', "
        "null, %s) from generate_series(1, %s) i",
        (name, at.isoformat(), name, at, count),
    )


@pytest.fixture
def endpoints(conn: psycopg.Connection, tenant_source: str) -> dict[str, int]:
    """IDLE active endpoints with nothing queued, and 'busy' and 'late' (idle for now)."""
    conn.execute(
        "select hookline.add_endpoint(tenant => 'acme', name => 'idle' || i, "
        "url => 'http://127.0.0.1:9/idle') from generate_series(1, %s) i",
        (IDLE,),
    )
    ids = {name: add_endpoint(conn, name) for name in ("busy", "late")}
    ingest(conn, "busy", 100, T0)
    return ids


def test_each_session_keeps_its_own_candidates(db: str, conn, endpoints) -> None:
    """A session in its candidates does not hide new work from another session: each one's
    first claim is a full probe, and each one's hint is its own."""
    with psycopg.connect(db, autocommit=True) as one, psycopg.connect(db, autocommit=True) as two:
        at = T0 + timedelta(minutes=1)
        assert claim(one, 5, at)[1] > IDLE, "a session's first claim probes every endpoint"
        got, scans = claim(one, 5, at)
        assert (got, scans) == (["busy"] * 5, 2), "then its candidates alone (one probe, one claim)"
        ingest(conn, "late", 3, T0 - timedelta(hours=1))
        got, scans = claim(one, 5, at)
        assert "late" not in got and scans == 2, "the first session's candidates: late waits"
        got, scans = claim(two, 5, at)
        assert got.count("late") == 3 and scans > IDLE, "the second session's first claim finds it"
        cursor = json.loads(scalar(two, CURSOR))
        assert sorted(int(x) for x in cursor["c"].strip("{}").split(",")) == sorted(
            [endpoints["busy"], endpoints["late"]]
        )
        assert json.loads(scalar(one, CURSOR))["c"] == f"{{{endpoints['busy']}}}"
        got, scans = claim(one, 5, at + timedelta(seconds=1))
        assert scans > IDLE, (
            "a second after its full probe, the first session probes every endpoint"
        )
        assert got == ["busy"] * 5, "and late's work is taken already: nothing twice"


def test_a_hint_left_by_another_client_stays_a_hint(db: str, conn, endpoints) -> None:
    """Behind a transaction pooler a server connection carries the setting of whichever client
    claimed on it last. Whatever it says, a claim takes only what it may: candidates that are
    full, paused or gone give nothing, and the claim probes every endpoint before it answers."""
    tight = add_endpoint(conn, "tight", max_in_flight=2)
    ingest(conn, "tight", 5, T0 - timedelta(hours=1))
    at = T0 + timedelta(minutes=1)
    with psycopg.connect(db, autocommit=True) as runner:
        # As another client would have left it: candidates tight and an endpoint that is no
        # more, a full probe a moment ago that took a second (a hint for the next second).
        left = {"at": None, "e": None, "c": f"{{{tight},999999}}", "ca": at.isoformat(), "cd": 1000}
        runner.execute("select set_config('hookline.claim_cursor', %s, false)", (json.dumps(left),))
        got, scans = claim(runner, 5, at)
        assert got == ["tight", "tight"], "the candidates, within tight's max_in_flight"
        assert scans < 5
        # tight is full now. Its claim locks it and finds no room, so the same claim probes
        # every endpoint and serves another (not an empty answer while busy has work).
        runner.execute("select set_config('hookline.claim_cursor', %s, false)", (json.dumps(left),))
        got, scans = claim(runner, 5, at)
        assert got == ["busy"] * 5 and scans > IDLE
        # Candidates with nothing due (an endpoint that is no more): the same claim probes
        # every endpoint before it answers.
        gone = dict(left, c="{999999}")
        runner.execute("select set_config('hookline.claim_cursor', %s, false)", (json.dumps(gone),))
        got, scans = claim(runner, 5, at)
        assert got == ["busy"] * 5 and scans > IDLE
        # A full probe at a later now than this claim's (another client's clock in a test, or
        # its now argument): no hint.
        later = dict(left, ca=(at + timedelta(minutes=5)).isoformat())
        runner.execute(
            "select set_config('hookline.claim_cursor', %s, false)", (json.dumps(later),)
        )
        ingest(conn, "late", 1, T0 - timedelta(hours=2))
        got, scans = claim(runner, 5, at)
        assert got.count("late") == 1 and scans > IDLE
        assert scalar(conn, "select count(*) from hookline.deliveries d where d.endpoint_id = %s "
                      "and d.state = 'in_flight'", (tight,)) == 2  # fmt: skip


@pytest.fixture
def bouncer(server: Server) -> Iterator[bouncer_mod.Bouncer]:
    require(bouncer_mod.available(), "pgbouncer (Debian package pgbouncer)")
    with bouncer_mod.pgbouncer(server.port, pool_size=1) as b:
        yield b


def test_clients_of_one_pooled_server_connection_share_the_hint(db: str, conn, endpoints, bouncer) -> None:  # fmt: skip
    """Two clients through a real PgBouncer in transaction pooling mode with one server
    connection: the second client's claims run with the hint the first one's left, and stay
    correct: new work is claimed at the next full probe, within a second, by either."""
    dsn = bouncer.dsn(db.rsplit("/", 1)[1].split("?")[0])
    at = T0 + timedelta(minutes=1)
    with psycopg.connect(dsn, autocommit=True, prepare_threshold=None) as one, \
            psycopg.connect(dsn, autocommit=True, prepare_threshold=None) as two:  # fmt: skip
        assert claim(one, 5, at)[1] > IDLE
        got, scans = claim(two, 5, at)
        assert got == ["busy"] * 5 and scans == 2, "the first client's candidates, on the second"
        ingest(conn, "late", 2, T0 - timedelta(hours=1))
        assert "late" not in claim(one, 5, at)[0]
        got, scans = claim(two, 5, at + timedelta(seconds=1))
        assert got.count("late") == 2 and scans > IDLE
    assert scalar(conn, "select count(*) from hookline.deliveries where state = 'in_flight'") == 20
