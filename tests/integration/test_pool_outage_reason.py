"""A refused connection's reason reaches the runner's and the ingress's outage lines, and a
role set through PGOPTIONS gets the same hint as one in the DSN's options.

psycopg_pool calls reconnect_failed without the error, so the pool's "database unreachable"
line said only "no connection could be made"; the server's words were on psycopg_pool's own
logger. The pool now keeps the last failed attempt's error (hookline.resilience.Pool). On the
shared test server, which refuses a role that does not exist."""

from __future__ import annotations

import asyncio
import logging

import psycopg
import pytest

from hookline.db import connect
from hookline.errors import ConnectFailed
from hookline.resilience import Pool


def outage_lines(dsn: str, caplog: pytest.LogCaptureFixture) -> list[str]:
    """hookline.db's lines while a pool of `dsn` fails its first reconnect."""

    async def scenario() -> None:
        pool = Pool(dsn, name="probe", max_size=1, timeout=1)
        await pool.open(wait=False)
        try:
            for _ in range(200):  # reconnect_timeout is 0.25 s
                if pool.outage.since is not None:
                    return
                await asyncio.sleep(0.05)
            raise AssertionError("the pool never gave up a connection attempt")
        finally:
            await pool.close()

    with caplog.at_level(logging.WARNING, logger="hookline.db"):
        asyncio.run(scenario())
    return [r.getMessage() for r in caplog.records if r.name == "hookline.db"]


def hint(where: str) -> str:
    return (
        f" ({where} role no_such_owner: if it does not exist or {{user}} is not a member of it, "
        "a DBA creates it and grants it to {user}, as docs/security.md says, "
        '"Granting roles to people and services (DBA)")'
    )


def test_the_pools_outage_line_carries_the_servers_refusal(
    db: str, caplog: pytest.LogCaptureFixture
) -> None:
    info = psycopg.conninfo.conninfo_to_dict(db)
    lines = outage_lines(psycopg.conninfo.make_conninfo(db, user="no_such_login"), caplog)
    assert lines and lines[0].startswith("probe: database unreachable: "), lines
    assert 'role "no_such_login" does not exist' in lines[0], lines
    assert info["dbname"]  # the same server and database, only the login changed


@pytest.mark.parametrize("through", ["dsn", "PGOPTIONS"])
def test_a_missing_role_set_in_the_dsn_or_pgoptions_gets_the_same_hint(
    db: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, through: str
) -> None:
    """`-c role=NAME` in the DSN's options or in PGOPTIONS (libpq reads it when the DSN has
    no options): a failed connect's line (a one-shot command's) and the pool's outage line
    both end with the hint that names the option and the DBA's block."""
    user = psycopg.conninfo.conninfo_to_dict(db)["user"]
    if through == "dsn":
        dsn, where = psycopg.conninfo.make_conninfo(db, options="-c role=no_such_owner"), "the DSN's options set"  # fmt: skip
    else:
        monkeypatch.setenv("PGOPTIONS", "-c role=no_such_owner")
        dsn, where = db, "PGOPTIONS sets"
    expected = hint(where).format(user=user)
    with pytest.raises(ConnectFailed) as failed:
        connect(dsn, timeout=10)
    assert str(failed.value).endswith(expected), str(failed.value)
    assert "no_such_owner" in str(failed.value).removesuffix(expected), "the server's own words"
    lines = outage_lines(dsn, caplog)
    assert lines and lines[0].endswith(expected), lines
    assert "no_such_owner" in lines[0].removesuffix(expected), lines
