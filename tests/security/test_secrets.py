"""Secrets sealed at rest with a key outside the database; key rotation; no secret in the
statement log; an endpoint's signing secret rotated with an overlap."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest
from standardwebhooks.webhooks import Webhook

from hookline.sealing import Keyring, SecretKeyError, new_key_line
from tests.conftest import Server
from tests.helpers import hookline
from tests.ingress_helpers import running_ingress, sign
from tests.integration.conftest import RunnerProcess, wait_until
from tests.target import Target

SECRET = "app-secret-0123456789"
TOKEN = "verify-me-0123456789"


def cli(*args: str, stdin: str = "", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    base = {k: v for k, v in os.environ.items() if k not in ("HOOKLINE_DSN", "DATABASE_URL")}
    return subprocess.run(
        [sys.executable, "-m", "hookline", *args], input=stdin, capture_output=True, text=True,
        timeout=120, check=False, env={**base, **(env or {})},
    )  # fmt: skip


def stored(db: str) -> list[str]:
    with psycopg.connect(db) as conn:
        return [v for (v,) in conn.execute("select value from hookline.stored_secrets()")]


def test_sealing_round_trips_and_refuses_a_wrong_or_damaged_key() -> None:
    ring = Keyring.parse(new_key_line())
    sealed = ring.seal("s3cret")
    assert sealed.startswith("hlenc1.") and "s3cret" not in sealed
    assert ring.seal("s3cret") != sealed  # a fresh data key and nonce every time
    assert ring.open(sealed) == "s3cret"
    with pytest.raises(SecretKeyError, match="which the key file lacks"):
        Keyring.parse(new_key_line()).open(sealed)
    damaged = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    with pytest.raises(SecretKeyError, match="damaged"):
        ring.open(damaged)
    with pytest.raises(SecretKeyError, match="line 1"):
        Keyring.parse("k1:tooshort")


def test_the_cli_stores_only_sealed_secrets_and_the_statement_log_never_sees_one(
    db: str, server: Server, tmp_path: Path
) -> None:
    dbname = psycopg.conninfo.conninfo_to_dict(db)["dbname"]
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f"alter database \"{dbname}\" set log_statement = 'all'")
    log = server.pg.root / "server.log"
    start = log.stat().st_size
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    add = cli("sources", "add", "acme-wa", "--tenant", "acme", "--create-tenant",
              "--verify-token-file", str(token), "--dsn", db, stdin=SECRET + "\n")  # fmt: skip
    assert add.returncode == 0, add.stderr
    added = cli("endpoints", "add", "crm", "--tenant", "acme", "--url", "https://crm.internal/h",
                "--json", "--dsn", db)  # fmt: skip
    assert added.returncode == 0, added.stderr
    plain_endpoint = json.loads(added.stdout)["signing_secret"]
    sender = cli(
        "senders", "add", "1065", "--source", "acme-wa", "--dsn", db, stdin="EAAG-token-1\n"
    )
    assert sender.returncode == 0, sender.stderr
    values = stored(db)
    assert len(values) == 4 and all(v.startswith("hlenc1.ktest.") for v in values)
    with log.open("rb") as f:
        f.seek(start)
        logged = f.read().decode(errors="replace")
    assert "hlenc1.ktest." in logged  # the statements were logged, parameters too
    for secret in (
        SECRET,
        TOKEN,
        plain_endpoint,
        plain_endpoint.removeprefix("whsec_"),
        "EAAG-token-1",
    ):
        assert secret not in logged
    with psycopg.connect(db) as conn:
        audit = json.dumps(conn.execute("select before, after from hookline.audit_log").fetchall())
    assert "keyed:" in audit and "sha256:" not in audit and "hlenc1" not in audit


def test_without_a_key_nothing_is_stored(db: str) -> None:
    env = {"HOOKLINE_SECRET_KEYS": ""}
    run = cli("sources", "add", "acme-wa", "--tenant", "acme", "--create-tenant", "--dsn", db,
              stdin=SECRET + "\n", env=env)  # fmt: skip
    assert run.returncode == 1
    assert (
        run.stderr.strip()
        .splitlines()[-1]
        .startswith("hookline: no secret key: set HOOKLINE_SECRET_KEY_FILE")
    )
    assert stored(db) == []


def test_the_ingress_opens_sealed_secrets_and_a_key_rotation_keeps_them_readable(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    assert hookline("secrets", "new-key", "--file", str(keys)).returncode == 0
    env = {"HOOKLINE_SECRET_KEY_FILE": str(keys), "HOOKLINE_SECRET_KEYS": ""}
    token = tmp_path / "token"
    token.write_text(TOKEN)
    add = cli("sources", "add", "acme-wa", "--tenant", "acme", "--create-tenant", "--dsn", db,
              "--verify-token-file", str(token), stdin=SECRET + "\n", env=env)  # fmt: skip
    assert add.returncode == 0, add.stderr
    old_id = keys.read_text().split(":", 1)[0]
    assert stored(db)[0].startswith(f"hlenc1.{old_id}.")

    # rotation: a new key first, rekey, then the old line goes
    assert hookline("secrets", "new-key", "--file", str(keys)).returncode == 0
    new_id = keys.read_text().split(":", 1)[0]
    rekey = cli("secrets", "rekey", "--dsn", db, env=env)
    assert rekey.returncode == 0, rekey.stderr
    assert rekey.stdout == f"2 secrets sealed under key {new_id}\n"
    assert all(v.startswith(f"hlenc1.{new_id}.") for v in stored(db))
    keys.write_text(keys.read_text().splitlines()[0] + "\n")

    body = b'{"object": "whatsapp_business_account", "entry": []}'
    headers = {"content-type": "application/json"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with running_ingress(db, tmp_path / "ingress.log") as ingress:
        url = f"{ingress.url}/webhooks/acme-wa"
        ok = httpx.post(url, content=body, timeout=10,
                        headers={**headers, "x-hub-signature-256": sign(SECRET, body)})  # fmt: skip
        forged = httpx.post(url, content=body, timeout=10,
                            headers={**headers, "x-hub-signature-256": sign("guess", body)})  # fmt: skip
        handshake = httpx.get(url, timeout=10, params={
            "hub.mode": "subscribe", "hub.challenge": "4711", "hub.verify_token": TOKEN})  # fmt: skip
    assert (ok.status_code, forged.status_code) == (200, 401)
    assert (handshake.status_code, handshake.text) == (200, "4711")

    monkeypatch.setenv("HOOKLINE_SECRET_KEY_FILE", "")  # an ingress without the key
    with running_ingress(db, tmp_path / "keyless.log") as ingress:
        keyless = httpx.post(f"{ingress.url}/webhooks/acme-wa", content=body, timeout=10,
                             headers={**headers, "x-hub-signature-256": sign(SECRET, body)})  # fmt: skip
    assert keyless.status_code == 503  # the sender retries; nothing is lost
    assert "no secret key" in (tmp_path / "keyless.log").read_text()


@pytest.mark.slow
def test_an_endpoint_secret_rotates_with_an_overlap(
    db: str, conn: psycopg.Connection, tenant_source: str, target: Target
) -> None:
    conn.execute("select hookline.allow_http('acme', true)")
    added = hookline("endpoints", "add", "crm", "--tenant", "acme", "--url", target.url("/ok"),
                     "--json", "--dsn", db)  # fmt: skip
    old = json.loads(added.stdout)["signing_secret"]
    conn.execute("select hookline.add_subscription('crm', '*')")
    rotated = hookline(
        "endpoints", "rotate-secret", "crm", "--reason", "yearly", "--json", "--dsn", db
    )
    assert rotated.returncode == 0, rotated.stderr
    new = json.loads(rotated.stdout)["signing_secret"]
    assert json.loads(rotated.stdout)["signing_secrets"] == 2 and new != old

    def deliver(key: str) -> dict[str, str]:
        conn.execute(
            "select hookline.ingest('acme-wa', %s, 'whatsapp.message.text', '{}'::jsonb)", (key,)
        )
        runner = RunnerProcess(db, f"rot-{key}")
        try:
            wait_until(lambda: len(target.requests) >= 1, what="a delivery")
        finally:
            runner.stop()
        request = target.requests.pop()
        return {**request.headers, "body": request.body.decode()}

    during = deliver("e1")
    signatures = during["webhook-signature"].split(" ")
    assert len(signatures) == 2
    for secret in (new, old):  # a receiver that knows either secret accepts the delivery
        Webhook(secret).verify(during["body"], during)
    finished = hookline("endpoints", "rotate-secret", "crm", "--finish", "--dsn", db)
    assert finished.stdout == "endpoint crm: rotation finished; one secret signs\n"
    after = deliver("e2")
    assert len(after["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(after["body"], after)
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(old).verify(after["body"], after)
    audit = conn.execute(
        "select reason, before ? 'previous_signing_secret', after ? 'previous_signing_secret' "
        "from hookline.audit_log where action = 'endpoints.update' order by audit_id"
    ).fetchall()
    assert audit == [
        ("yearly", False, True),
        ("signing secret rotation finished", True, None),
    ]  # after: nothing left


def test_hookline_up_seals_with_a_key_file_in_its_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hookline.cli import ensure_secret_key

    monkeypatch.delenv("HOOKLINE_SECRET_KEYS", raising=False)
    monkeypatch.delenv("HOOKLINE_SECRET_KEY_FILE", raising=False)
    ensure_secret_key(tmp_path / "data")
    path = tmp_path / "data" / "secret.keys"
    assert os.environ["HOOKLINE_SECRET_KEY_FILE"] == str(path)
    assert path.stat().st_mode & 0o777 == 0o600
    first = path.read_text()
    monkeypatch.delenv("HOOKLINE_SECRET_KEY_FILE")
    ensure_secret_key(tmp_path / "data")  # the next `hookline up` keeps it
    assert path.read_text() == first and Keyring.parse(first).active
