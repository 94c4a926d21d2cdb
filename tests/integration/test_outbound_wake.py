"""The outbox's wake-up signal: writers (send_message, release_messages, resume_sender) notify
channel hookline_outbox only when an outbound runner said it waits (next_message_due), once per
wait, and a runner that is about to wait while a message commits never misses it."""

from __future__ import annotations

import json
import random
import threading
import time

import psycopg
from psycopg.types.json import Jsonb

from tests.integration.conftest import scalar
from tests.integration.test_outbound import add_sender, send

CLAIM = "select message_id, lease_token from hookline.claim_messages('r1', 64, '1 hour')"


def notes(listener: psycopg.Connection, timeout: float = 0.3) -> list[dict]:
    return [json.loads(n.payload) for n in listener.notifies(timeout=timeout)]


def test_writers_notify_only_a_waiting_outbound_runner_once(db: str, conn, tenant_source) -> None:  # fmt: skip
    add_sender(conn, messages_per_second=1000)
    with psycopg.connect(db, autocommit=True) as runner:
        runner.execute("listen hookline_outbox")
        for i in range(5):  # no runner waits: no notification
            send(conn, f"+1555000{i:04}", f"k-{i}")
        assert notes(runner) == []
        runner.execute("select hookline.next_message_due()")  # it found no work and waits
        for i in range(5, 10):
            send(conn, f"+1555000{i:04}", f"k-{i}")
        send(conn, "+15550000005", "k-5")  # the same key: nothing queued
        assert notes(runner) == [{"due": "now"}], "one notification for five messages"

        leases = runner.execute(CLAIM).fetchall()
        assert len(leases) == 10
        runner.execute("select hookline.next_message_due()")
        released = runner.execute(
            "select hookline.release_messages('r1', %s)",
            (Jsonb([{"message_id": m, "lease_token": str(t)} for m, t in leases[:3]]),),
        ).fetchall()
        assert len(released) == 3
        assert notes(runner) == [{"due": "now"}], "a release wakes the waiting runner"
        runner.execute(
            "select hookline.release_messages('r1', %s)",
            (Jsonb([{"message_id": m, "lease_token": str(t)} for m, t in leases[3:]]),),
        ).fetchall()
        assert notes(runner) == [], "it was woken already and has not waited again"

        conn.execute("select hookline.pause_sender('1065')")
        runner.execute("select hookline.next_message_due()")
        conn.execute("select hookline.resume_sender('1065')")
        assert notes(runner) == [{"due": "now"}], "a resumed sender wakes the waiting runner"


def test_a_runner_about_to_wait_never_misses_a_message_committed_meanwhile(db: str, conn, tenant_source) -> None:  # fmt: skip
    """Many rounds of the race: the writer commits a message at a random moment around the
    runner's empty claim and its next_message_due. Each round the runner must either be told
    to look now (a due time not in the future) or be notified; then its claim gets the message."""
    add_sender(conn, messages_per_second=10000)  # one new recipient a round
    rounds, lost, woken, told = 300, [], 0, 0
    rng = random.Random(11)
    with (
        psycopg.connect(db, autocommit=True) as runner,
        psycopg.connect(db, autocommit=True) as writer,
    ):  # fmt: skip
        runner.execute("listen hookline_outbox")
        for i in range(rounds):
            gate = threading.Barrier(2)
            delay = rng.uniform(0, 0.004)

            def write(i: int = i, delay: float = delay, gate: threading.Barrier = gate) -> None:
                gate.wait()
                time.sleep(delay)
                with writer.transaction():
                    send(writer, f"+1666{i:07}", f"race-{i}")
                    time.sleep(rng.uniform(0, 0.002))  # the handler's transaction goes on a little

            t = threading.Thread(target=write)
            t.start()
            gate.wait()
            got = len(runner.execute(CLAIM).fetchall())
            if not got:
                in_future = scalar(runner, "select hookline.next_message_due() > now()")
                if in_future is False:
                    told += 1  # "look now": a message is due (or a writer was still open)
                elif list(runner.notifies(timeout=1.0, stop_after=1)):
                    woken += 1
                else:
                    lost.append(i)
            t.join()
            if not got:
                got = len(runner.execute(CLAIM).fetchall())
                if not got:  # told to look now while the writer was still open: look again
                    t.join()
                    got = len(runner.execute(CLAIM).fetchall())
            assert got == 1, f"round {i}: the message was claimed"
            list(runner.notifies(timeout=0))  # a notification of a round it already claimed
    assert lost == [], f"rounds whose message did not wake the waiting runner: {lost}"
    assert woken > 0, "some rounds went through the notification"
    assert scalar(conn, "select count(*) from hookline.outbox where state = 'sending'") == rounds


def test_next_message_due_wakes_its_caller_when_a_message_is_claimable_already(db: str, conn, tenant_source) -> None:  # fmt: skip
    add_sender(conn)
    send(conn, "+15550001111", "k-1")  # committed before the runner registers its wait
    with psycopg.connect(db, autocommit=True) as runner:
        runner.execute("listen hookline_outbox")
        assert scalar(runner, "select hookline.next_message_due() <= now()") is True
        assert notes(runner) == [{"due": "now"}], "woken at once, not after its floor"
        assert len(runner.execute(CLAIM).fetchall()) == 1
        # Nothing claimable now (the message is leased): it waits, no notification to itself.
        assert scalar(runner, "select hookline.next_message_due() > now()") is True
        assert notes(runner) == []
