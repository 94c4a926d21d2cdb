"""`hookline senders` and `hookline breakers` as a user runs them."""

from __future__ import annotations

import subprocess
import sys

from hookline.sealing import opener
from tests.helpers import hookline
from tests.integration.conftest import scalar

TOKEN = "EAAG-cli-token-secret"


def test_a_sender_s_token_comes_from_stdin_or_a_variable_and_is_never_shown(db: str, conn, tenant_source) -> None:  # fmt: skip
    added = subprocess.run(
        [sys.executable, "-m", "hookline", "senders", "add", "1065", "--source", "acme-wa",
         "--dsn", db, "--messages-per-second", "20"],
        input=TOKEN + "\n", capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    row = conn.execute(
        "select access_token, messages_per_second, pair_interval::text from hookline.senders"
    ).fetchone()
    assert (opener()(row[0]), *row[1:]) == (TOKEN, 20, "00:00:06"), (
        "the token as given (sealed), the other limits by default"
    )
    listed = hookline("senders", "list", "--json", "--dsn", db)
    assert listed.returncode == 0 and '"1065"' in listed.stdout
    assert TOKEN not in listed.stdout + listed.stderr + added.stdout + added.stderr

    rotated = hookline("senders", "set", "1065", "--rotate-token", "--token-env", "NEW_TOKEN",
                       "--dsn", db, env={"NEW_TOKEN": "EAAG-rotated-token"})  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    assert (
        opener()(scalar(conn, "select access_token from hookline.senders")) == "EAAG-rotated-token"
    )

    again = hookline("senders", "add", "1065", "--source", "acme-wa", "--token-env", "NEW_TOKEN",
                     "--dsn", db, env={"NEW_TOKEN": "EAAG-rotated-token"})  # fmt: skip
    assert again.returncode == 1 and "exists" in again.stderr
    bad = hookline("senders", "set", "1065", "--messages-per-second", "0", "--dsn", db)
    assert bad.returncode == 1 and "senders_messages_per_second_range" in bad.stderr


def test_an_operator_forces_a_breaker_and_it_is_recorded(db: str, conn, tenant_source) -> None:  # fmt: skip
    conn.execute("select hookline.add_sender('acme-wa', '1065', 'EAAG-token-1')")
    opened = hookline("breakers", "set", "sender:1065", "open", "--reason", "incident", "--dsn", db)
    assert opened.returncode == 0, opened.stderr
    assert opened.stdout.strip() == "breaker sender:1065 is open (forced)"
    listed = hookline("breakers", "list", "--dsn", db)
    assert "sender:1065" in listed.stdout and "incident (open)" in listed.stdout
    assert hookline("breakers", "set", "sender:1065", "auto", "--dsn", db).returncode == 0
    unknown = hookline("breakers", "set", "sender:999", "open", "--dsn", db)
    assert unknown.returncode == 1 and "unknown breaker target" in unknown.stderr
    assert scalar(conn, "select count(*) from hookline.breaker_transitions") == 2
