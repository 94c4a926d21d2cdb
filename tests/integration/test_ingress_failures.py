"""The ingress when the database goes away, and when the request is anything at all."""

from __future__ import annotations

import json
import string
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Server
from tests.ingress_helpers import FIXTURES, Proxy, RunningIngress, running_ingress, sign

SECRET = "app-secret"


@pytest.fixture(scope="module")
def failures_db(module_db: str) -> str:
    with psycopg.connect(module_db, autocommit=True) as conn:
        conn.execute(
            "select hookline.add_source('acme', 'wa', 'whatsapp', %s, 'vt', 65536, true)",
            (SECRET,),
        )
        conn.execute(
            "select hookline.add_source('acme', 'sw', 'standard-webhooks', "
            "'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')"
        )
    return module_db


def count_events(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("select count(*) from hookline.events").fetchone()[0]


@pytest.mark.slow
def test_database_down_is_503_and_the_retry_after_it_is_back_is_stored_once(
    server: Server, failures_db: str, tmp_path
) -> None:
    proxy = Proxy(server.port)
    dsn = failures_db.replace(f":{server.port}/", f":{proxy.port}/")
    assert dsn != failures_db
    body = (FIXTURES / "several.json").read_bytes()
    before = count_events(failures_db)
    try:
        with running_ingress(dsn, tmp_path / "ingress.log", "--db-timeout", "1") as ingress:
            url = f"{ingress.url}/webhooks/wa"
            headers = {
                "content-type": "application/json",
                "x-hub-signature-256": sign(SECRET, body),
            }
            assert httpx.get(f"{ingress.url}/readyz").status_code == 200
            proxy.down()
            down = httpx.post(url, content=body, headers=headers, timeout=30)
            assert down.status_code == 503, down.text
            assert down.text == "database unavailable, retry later\n", "no host or port leaks"
            assert httpx.get(f"{ingress.url}/readyz").status_code == 503
            assert httpx.get(f"{ingress.url}/healthz").status_code == 200, "the process lives"
            assert count_events(failures_db) == before
            proxy.up()
            # The sender retries until it gets a 200, as Meta does.
            deadline = time.monotonic() + 30
            while (
                answer := httpx.post(url, content=body, headers=headers, timeout=30)
            ).status_code != 200:
                assert answer.status_code == 503, answer.text
                assert time.monotonic() < deadline, "the ingress did not recover"
                time.sleep(0.2)
            assert answer.json()["new_events"] == 6
            again = httpx.post(url, content=body, headers=headers, timeout=30)
            assert again.json()["new_events"] == 0
            assert count_events(failures_db) == before + 6
    finally:
        proxy.close()


@pytest.mark.slow
def test_a_database_that_does_not_answer_in_time_is_503_and_nothing_is_half_stored(
    failures_db: str, tmp_path
) -> None:
    body = (FIXTURES / "text.json").read_bytes().replace(b"wamid.HBgL1", b"wamid.SLOW1")
    headers = {"content-type": "application/json", "x-hub-signature-256": sign(SECRET, body)}
    before = count_events(failures_db)
    with (
        running_ingress(failures_db, tmp_path / "ingress.log", "--db-timeout", "1") as ingress,
        psycopg.connect(failures_db) as blocker,
    ):
        url = f"{ingress.url}/webhooks/wa"
        # Another transaction holds the message's dedup key: the ingress waits on it.
        blocker.execute(
            "select hookline.ingest('wa', 'wamid.SLOW1', 'whatsapp.message.text', '{}')"
        )
        slow = httpx.post(url, content=body, headers=headers, timeout=30)
        assert slow.status_code == 503, slow.text
        assert "database unavailable" in slow.text
        blocker.rollback()
        retried = httpx.post(url, content=body, headers=headers, timeout=30)
        assert (retried.status_code, retried.json()["new_events"]) == (200, 1)
    assert count_events(failures_db) == before + 1


@pytest.fixture(scope="module")
def fuzz_ingress(
    failures_db: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningIngress]:
    with running_ingress(failures_db, tmp_path_factory.mktemp("fuzz") / "ingress.log") as ingress:
        yield ingress
        assert ingress.proc.poll() is None, "the ingress process died"
        assert httpx.get(f"{ingress.url}/healthz").status_code == 200


header_text = st.text(alphabet=string.printable.strip() + " ", max_size=80).map(str.strip)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
notification_like = st.fixed_dictionaries(
    {"object": st.sampled_from(["whatsapp_business_account", "page", ""])},
    optional={
        "entry": st.lists(
            st.dictionaries(st.sampled_from(["id", "changes", "time"]), json_values), max_size=3
        )
        | json_values
    },
)
bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    notification_like.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(sorted(FIXTURES.glob("*.json"))).map(lambda p: p.read_bytes()),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]),
    path=st.sampled_from(["wa", "sw", "nope", "WA", "%00", "a" * 200, "wa%2F..%2Fx"]),
    body=bodies,
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/plain", ""]
    ),
    signed=st.sampled_from(["right", "wrong", "none", "garbage"]),
    extra=st.dictionaries(
        st.sampled_from(
            [
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "content-length-x",
                "x-hub-signature-256",
            ]
        ),
        header_text,
        max_size=3,
    ),
    query=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.verify_token", "hub.challenge", "x"]),
        header_text,
        max_size=3,
    ),
)
def test_no_request_yields_a_500_or_kills_the_process(
    fuzz_ingress: RunningIngress,
    method: str,
    path: str,
    body: bytes,
    content_type: str,
    signed: str,
    extra: dict[str, str],
    query: dict[str, str],
) -> None:
    headers: dict[str, str | bytes] = dict(extra)
    if content_type:
        headers["content-type"] = content_type
    if signed == "right":
        headers["x-hub-signature-256"] = sign(SECRET, body)
    elif signed == "wrong":
        headers["x-hub-signature-256"] = sign("nope", body)
    elif signed == "garbage":
        headers["x-hub-signature-256"] = "sha256=\u00e9\u00e9".encode("latin-1")
    response = httpx.request(
        method,
        f"{fuzz_ingress.url}/webhooks/{path}",
        params=query,
        content=body,
        headers=headers,
        timeout=30,
    )
    assert response.status_code < 500, (response.status_code, response.text)
