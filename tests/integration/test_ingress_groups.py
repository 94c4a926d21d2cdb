"""The ingress's group commit, on a real ingress process and a real PostgreSQL: concurrent
POSTs share one transaction, each still gets its own answer, and a group whose database goes
away before its call is refused as a whole (503) without losing anything acknowledged (one
whose call was lost mid-way is in doubt and waits for the database instead).

A group is made deterministic without timing: a first request waits in the database on a
dedup key another transaction holds (its group is in flight; --groups-in-flight 1), the others
arrive meanwhile and wait for the next group (the ingress says how many in hookline_ingress_waiting_requests),
then the holder lets go."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hookline.ingress import Ingress, Pending, Settings
from tests.conftest import Server
from tests.ingress_helpers import FIXTURES, Proxy, RunningIngress, running_ingress, sign
from tests.integration.conftest import wait_until

SECRET = "group-secret"
TEXT = (FIXTURES / "text.json").read_bytes()


def message(wamid: str) -> bytes:
    return TEXT.replace(b"wamid.HBgL1", wamid.encode())


def post(url: str, body: bytes, secret: str = SECRET) -> httpx.Response:
    headers = {"content-type": "application/json", "x-hub-signature-256": sign(secret, body)}
    return httpx.post(url, content=body, headers=headers, timeout=60)


def waiting(ingress: RunningIngress) -> float:
    text = httpx.get(ingress.metrics_url, timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == "hookline_ingress_waiting_requests":
            return family.samples[0].value
    raise AssertionError("no hookline_ingress_waiting_requests metric")


def waits_on_a_lock(dsn: str) -> bool:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select count(*) > 0 from pg_stat_activity where wait_event_type = 'Lock' "
            "and query like '%receive_many%'"
        ).fetchone()[0]


def hold_key(dsn: str, wamid: str) -> psycopg.Connection[Any]:
    """A transaction holding the dedup key of `wamid` (source grp) until it ends."""
    conn = psycopg.connect(dsn)
    conn.execute("select hookline.ingest('grp', %s, 'whatsapp.message.text', '{}')", (wamid,))
    return conn


@pytest.fixture(scope="module")
def groups_db(module_db: str) -> str:
    with psycopg.connect(module_db, autocommit=True) as conn:
        for name in ("grp", "gone"):
            conn.execute(
                "select hookline.add_source('acme', %s, 'whatsapp', %s, 'vt', 65536, true)",
                (name, SECRET),
            )
    return module_db


def test_concurrent_requests_share_a_transaction_and_each_gets_its_own_answer(
    groups_db: str, tmp_path
) -> None:
    with running_ingress(
        groups_db, tmp_path / "ingress.log", "--cache-seconds", "600", "--groups-in-flight", "1"
    ) as ingress:
        url = f"{ingress.url}/webhooks/grp"
        # The ingress knows source "gone" (cached), which is removed before the group.
        assert httpx.get(f"{ingress.url}/webhooks/gone", timeout=10).status_code == 403
        with psycopg.connect(groups_db, autocommit=True) as conn:
            conn.execute("select hookline.remove_source('gone')")
        goods = [message(f"wamid.G{i}") for i in range(10)]
        group = [
            *((url, body) for body in goods),
            (url, message("wamid.DUP")),  # the same notification twice in one group
            (url, message("wamid.DUP")),
            (url, b'{"object":"page","entry":[]}'),  # signed, but not a WhatsApp notification
            (url, b'{"object": "whatsapp_business_account", "entry": [}'),  # signed, not JSON
            (f"{ingress.url}/webhooks/gone", message("wamid.GONE")),  # removed meanwhile
        ]
        blocker = hold_key(groups_db, "wamid.SLOW")
        with ThreadPoolExecutor(len(group) + 2) as pool:
            slow = pool.submit(post, url, message("wamid.SLOW"))
            wait_until(lambda: waits_on_a_lock(groups_db), 30, "the first group to wait")
            answers = [pool.submit(post, u, body) for u, body in group]
            forged = pool.submit(post, url, message("wamid.FORGED"), "not-the-secret")
            wait_until(lambda: waiting(ingress) == len(group), 30, "the group to queue up")
            assert forged.result().status_code == 401, "a bad signature never waits for a group"
            blocker.rollback()
            blocker.close()
            assert (slow.result().status_code, slow.result().json()["new_events"]) == (200, 1)
            results = [a.result() for a in answers]

    statuses = [r.status_code for r in results]
    assert statuses == [200] * 12 + [400, 400, 404], [r.text for r in results]
    assert [r.json()["new_events"] for r in results[:10]] == [1] * 10
    assert sorted(r.json()["new_events"] for r in results[10:12]) == [0, 1]
    assert results[12].text.startswith("not a WhatsApp Business Account notification")
    assert results[14].text == "no such source\n"
    stored = [r.json()["request_id"] for r in results[:12]]
    with psycopg.connect(groups_db) as conn:
        xmins = conn.execute(
            "select count(distinct xmin::text), count(*) from hookline.raw_requests "
            "where request_id = any(%s)",
            (stored,),
        ).fetchone()
        assert xmins == (1, 12), "the twelve stored requests committed in one transaction"
        slow_xmin = conn.execute(
            "select xmin::text from hookline.raw_requests where request_id = %s",
            (slow.result().json()["request_id"],),
        ).fetchone()[0]
        assert (
            slow_xmin
            != conn.execute(
                "select xmin::text from hookline.raw_requests where request_id = %s", (stored[0],)
            ).fetchone()[0]
        )
        events = conn.execute(
            "select external_id, count(*) from hookline.events e join hookline.sources s "
            "using (source_id) where s.name = 'grp' group by external_id order by external_id"
        ).fetchall()
    wamids = sorted([*(f"wamid.G{i}" for i in range(10)), "wamid.DUP", "wamid.SLOW"])
    assert events == [(w, 1) for w in wamids], "every good one once; nothing of the bad ones"


def test_while_a_group_runs_a_second_leaves_only_with_three_requests(
    groups_db: str, tmp_path
) -> None:
    """One or two requests wait for the running group's end rather than pay a group's fixed
    cost for themselves; a third lets the three leave as the second group in flight."""
    with running_ingress(groups_db, tmp_path / "ingress.log", "--groups-in-flight", "2") as ingress:
        url = f"{ingress.url}/webhooks/grp"
        blocker = hold_key(groups_db, "wamid.HELD")
        with ThreadPoolExecutor(4) as pool:
            held = pool.submit(post, url, message("wamid.HELD"))
            wait_until(lambda: waits_on_a_lock(groups_db), 30, "the first group to wait")
            two = [pool.submit(post, url, message(f"wamid.W{i}")) for i in range(2)]
            wait_until(lambda: waiting(ingress) == 2, 30, "two requests to wait, not to leave")
            third = pool.submit(post, url, message("wamid.W2"))
            results = [answer.result() for answer in (*two, third)]
            assert not held.done(), "the three were answered while the first group still ran"
            blocker.rollback()
            blocker.close()
            assert held.result().status_code == 200
    assert [r.status_code for r in results] == [200, 200, 200], [r.text for r in results]
    with psycopg.connect(groups_db) as conn:
        xmins = conn.execute(
            "select count(distinct xmin::text), count(*) from hookline.raw_requests "
            "where request_id = any(%s)",
            ([r.json()["request_id"] for r in results],),
        ).fetchone()
    assert xmins == (1, 3), "the three stored in one transaction"


def stored(dsn: str, pattern: str) -> list[tuple[str, int]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select external_id, count(*)::int from hookline.events e join hookline.sources s "
            "using (source_id) where s.name = 'grp' and external_id like %s "
            "group by external_id order by external_id",
            (pattern,),
        ).fetchall()


@pytest.mark.slow
def test_a_database_lost_mid_group_is_503_only_for_what_was_not_sent_and_loses_nothing(
    server: Server, groups_db: str, tmp_path
) -> None:
    """The connection is cut while a group's call waits in the database (its group in flight)
    and the next group waits in the ingress. The waiting group never reached the database:
    503, and nothing of it is stored. The call in flight did: the server goes on and commits it
    once the holder lets go (it does not know the client is gone), so the commit is in doubt
    for the ingress. It used to be answered 503 at its deadline, a refusal of what was stored
    (the crash ledger's phantoms: 503, then delivered); now it is retried until the database
    is back and answered 200, a duplicate of the lost commit (new_events 0), stored once."""
    proxy = Proxy(server.port)
    dsn = groups_db.replace(f":{server.port}/", f":{proxy.port}/")
    bodies = [message(f"wamid.LOST{i}") for i in range(8)]
    try:
        with running_ingress(
            dsn, tmp_path / "ingress.log", "--db-timeout", "5", "--groups-in-flight", "1"
        ) as ingress:
            url = f"{ingress.url}/webhooks/grp"
            blocker = hold_key(groups_db, "wamid.LOST-SLOW")
            with ThreadPoolExecutor(len(bodies) + 1) as pool:
                slow = pool.submit(post, url, message("wamid.LOST-SLOW"))
                wait_until(lambda: waits_on_a_lock(groups_db), 30, "the first group to wait")
                answers = [pool.submit(post, url, body) for body in bodies]
                wait_until(lambda: waiting(ingress) == len(bodies), 30, "the group to queue up")
                proxy.down()  # mid-group: one transaction in flight, the next group waiting
                blocker.rollback()
                blocker.close()
                results = [a.result() for a in answers]
                assert [r.status_code for r in results] == [503] * 8, [r.text for r in results]
                assert {r.text for r in results} == {"database unavailable, retry later\n"}
                assert stored(groups_db, "wamid.LOST_") == [], "nothing of a 503 is stored"
                wait_until(
                    lambda: stored(groups_db, "wamid.LOST-SLOW") == [("wamid.LOST-SLOW", 1)],
                    30, "the call in flight to commit, its answer lost",
                )  # fmt: skip
                proxy.up()
                in_doubt = slow.result()
            assert in_doubt.status_code == 200, f"{in_doubt.status_code} {in_doubt.text}"
            assert in_doubt.json()["new_events"] == 0, (
                "a duplicate of the commit whose answer was lost"
            )
            assert "may have committed" in ingress.log.read_text()
            # The sender retries the others until it gets a 200, as Meta does.
            for body in bodies:
                wait_until(lambda b=body: post(url, b).status_code == 200, 60, "a 200")
    finally:
        proxy.close()
    expected = sorted(["wamid.LOST-SLOW", *(f"wamid.LOST{i}" for i in range(8))])
    assert stored(groups_db, "wamid.LOST%") == [(w, 1) for w in expected], "each stored once"


def test_a_group_call_is_prepared_once_on_a_connection_of_its_own(groups_db: str) -> None:
    """On a direct connection (no pooler), the group's call is a prepared statement: parsed
    and planned once per server session, not once per group. Behind a transaction pooler it
    is not prepared (tests/integration/test_pgbouncer.py)."""

    async def scenario() -> tuple[list[tuple[int, int, int]], int, int | None]:
        ingress = Ingress(Settings(dsn=groups_db, pool_size=1))  # one session: the one checked
        await ingress.pool.open(wait=True)
        try:
            loop = asyncio.get_running_loop()
            answers = []
            for n in range(3):
                body = message(f"wamid.PREP{n}").decode()
                pending = Pending("grp", body, body.encode(), {}, None, time.monotonic(),
                                  loop.create_future())  # fmt: skip
                answers.append(await ingress.groups.store(pending))

            async def prepared(conn: psycopg.AsyncConnection[Any]) -> tuple[int, int | None]:
                cur = await conn.execute(
                    "select count(*) from pg_prepared_statements where strpos(statement, %s) > 0",
                    ("from hookline.receive_many(",),
                )
                return (await cur.fetchone())[0], conn.prepare_threshold

            count, threshold = await ingress.call("checking", time.monotonic(), prepared)
            return answers, count, threshold
        finally:
            await ingress.pool.close()

    answers, count, threshold = asyncio.run(scenario())
    assert [new for _request, _events, new in answers] == [1, 1, 1]
    assert (count, threshold) == (1, 0), "the group call prepared once on the session"
