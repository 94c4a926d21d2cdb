"""`hookline sources`: secrets come from a file, a variable or standard input, never argv,
and are never printed back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from hookline.sealing import opener
from tests.helpers import hookline

SECRET = "s3cret-do-not-print"


def sources(dsn: str, *args: str, stdin: str = "", env: dict[str, str] | None = None):
    run = subprocess.run(
        [sys.executable, "-m", "hookline", "sources", *args, "--dsn", dsn],
        input=stdin, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert SECRET not in run.stdout + run.stderr, "a secret was printed"
    return run


def secrets_of(dsn: str, name: str) -> list[str]:
    """The source's secrets, opened (they are stored sealed: hookline.sealing)."""
    with psycopg.connect(dsn) as conn:
        stored = conn.execute(
            "select signing_secrets from hookline.source_credentials(%s)", (name,)
        ).fetchone()[0]
    return [opener()(s) for s in stored]


def test_add_list_show_rotate_remove(db: str, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("verify-me\n")
    add = sources(db, "add", "acme-wa", "--tenant", "acme", "--create-tenant",
                  "--verify-token-file", str(token), stdin=SECRET + "\n")  # fmt: skip
    assert add.returncode == 0, add.stderr
    assert "secrets:       1" in add.stdout and "verify token:  set" in add.stdout
    assert secrets_of(db, "acme-wa") == [SECRET], "the newline from stdin is not part of it"

    listed = sources(db, "list")
    assert listed.stdout.splitlines()[1].split() == ["acme-wa", "acme", "whatsapp", "1", "set"]

    rotated = sources(db, "rotate-secret", "acme-wa", "--secret-env", "NEW_SECRET",
                      env={"NEW_SECRET": SECRET + "-2"})  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    assert "secrets:       2 (rotating)" in rotated.stdout
    assert secrets_of(db, "acme-wa") == [SECRET + "-2", SECRET]
    finished = sources(db, "rotate-secret", "acme-wa", "--finish")
    assert "secrets:       1\n" in finished.stdout
    assert secrets_of(db, "acme-wa") == [SECRET + "-2"]

    assert "kind:          whatsapp" in sources(db, "show", "acme-wa").stdout
    removed = sources(db, "remove", "acme-wa", "-y")
    assert removed.stdout == "removed source acme-wa\n"
    gone = sources(db, "show", "acme-wa")
    assert (gone.returncode, gone.stderr) == (1, "hookline: unknown source 'acme-wa'\n")


def test_mistakes_read_as_one_line(db: str, tmp_path: Path) -> None:
    no_tenant = sources(db, "add", "x", "--tenant", "globex", stdin=SECRET)
    assert (no_tenant.returncode, no_tenant.stderr) == (1, "hookline: unknown tenant 'globex'\n")
    empty = sources(db, "add", "x", "--tenant", "acme", "--create-tenant", stdin="\n")
    assert (empty.returncode, empty.stderr) == (1, "hookline: the secret is empty\n")
    unset = sources(db, "add", "x", "--tenant", "acme", "--secret-env", "HOOKLINE_NOT_SET_X")
    assert unset.stderr == "hookline: environment variable HOOKLINE_NOT_SET_X is not set\n"
    secret_file = tmp_path / "s"
    secret_file.write_text(SECRET)
    assert sources(db, "add", "x", "--tenant", "acme", "--create-tenant",
                   "--secret-file", str(secret_file)).returncode == 0  # fmt: skip
    twice = sources(db, "add", "x", "--tenant", "acme", "--secret-file", str(secret_file))
    assert twice.stderr == "hookline: source 'x' already exists\n"
    bad = sources(db, "add", "Not Valid", "--tenant", "acme", "--secret-file", str(secret_file))
    assert bad.stderr == "hookline: invalid source name 'Not Valid'\n"
    refuse = sources(db, "remove", "x")
    assert refuse.returncode == 1 and "refusing to remove without -y" in refuse.stderr
    assert "--secret " not in hookline("sources", "add", "--help").stdout, "no secret in argv"
