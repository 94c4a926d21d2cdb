"""Every command of every runbook page runs as written, against a database seeded with what
the page talks about (tenant acme, source acme-wa, endpoint crm, dead deliveries, a sender):
the indented command blocks of each page, in order, in one bash -e, with the page's
placeholders (delivery ids, files) substituted. A failing command fails the test with its
output, so the pages cannot drift from the commands; what a page says a command prints (its
`# prints: ...` comments) must be in the output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.conftest import require
from tests.helpers import ROOT, assert_prints, doc_commands

PAGES = sorted((ROOT / "docs" / "runbooks").glob("*.md"))
SENDER = "106540352242922"


def seed(dsn: str, with_source: bool) -> list[int]:
    """acme with its source, endpoint crm, a sender and three dead deliveries; their ids."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme')"
        )
        conn.execute("select hookline.add_source('acme', 'wa-seed', 'whatsapp', 'secret')")
        if with_source:
            conn.execute("select hookline.add_source('acme', 'acme-wa', 'whatsapp', 'old-secret')")
        conn.execute("select hookline.add_sender('wa-seed', %s, 'EAAG-token-1')", (SENDER,))
        conn.execute("select hookline.pause_sender(%s, 'account: code 190')", (SENDER,))
        conn.execute("select hookline.add_endpoint('acme', 'crm', 'https://handler.invalid/')")
        conn.execute("select hookline.add_subscription('crm', '*')")
        conn.execute(
            "select hookline.ingest('wa-seed', 'w' || i, 'whatsapp.message.text', '{}')"
            " from generate_series(1, 3) i"
        )
        claimed = conn.execute(
            "select delivery_id, lease_token from hookline.claim('seed', 10, '1 minute')"
        ).fetchall()
        conn.execute("select count(*) from hookline.complete(%s)", (Jsonb([
            {"delivery_id": d, "lease_token": str(t), "status_code": 404} for d, t in claimed
        ]),))  # fmt: skip
        return [d for d, _t in claimed]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_command_of_the_runbook_runs(db: str, server, page: Path) -> None:
    require(shutil.which("openssl") is not None, "openssl")
    dead = seed(db, with_source=page.stem != "add-a-whatsapp-source")
    script = "\n".join(doc_commands(page.read_text()))
    assert script, f"{page.name} has no commands"
    # Placeholders: the delivery ids the page uses as examples are dead deliveries here.
    script = script.replace("4711", str(dead[0])).replace("4712", str(dead[1]))
    work = Path(tempfile.mkdtemp(prefix="hookline-runbook-"))
    try:
        (work / "sql").symlink_to(ROOT / "sql")
        for name in ("new-token", "new-secret"):  # the files a page tells you to create
            (work / name).write_text(f"{name}-value\n")
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("HOOKLINE_DSN", "DATABASE_URL")},
            "HOOKLINE_DSN": db,
            "PATH": f"{Path(sys.executable).parent}:{server.bindir}:{os.environ['PATH']}",
        }
        run = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script], cwd=work, env=env, input="app-secret\n",
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert run.returncode == 0, (
        f"{page.name}:\n{script}\n--- stderr:\n{run.stderr}\n--- stdout:\n{run.stdout}"
    )
    assert "Traceback" not in run.stderr
    assert_prints(script, run.stdout + run.stderr, page.name)


def test_the_block_reader_finds_the_pages_commands() -> None:
    found = doc_commands((ROOT / "docs" / "runbooks" / "rotate-a-source-secret.md").read_text())
    assert found == [
        "hookline sources rotate-secret acme-wa --secret-file ./new-secret",
        "hookline sources show acme-wa        # prints: secrets:       2 (rotating)",
        "hookline sources rotate-secret acme-wa --finish",
        "hookline sources show acme-wa        # prints: secrets:       1",
        "shred -u ./new-secret",
    ]
