"""The test harness: one private PostgreSQL per session, the schema deployed once into a
template database, and a fresh clone of it for every test.

The server runs as the `postgres` OS user when the suite runs as root (CI), as the current
user otherwise, with pg_cron preloaded when it is installed, and pg_stat_statements (the
plan-cache tests create the extension in their database). Under CI=true a missing server
feature (pg_cron, pgTAP, sqitch, pg_stat_statements) fails the tests that need it instead of
skipping them.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from pytest_postgresql.janitor import DatabaseJanitor

from hookline.migrator import Migrator
from hookline.pgcluster import LocalPostgres

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "hookline_template"
_counter = itertools.count()


# Stored secrets are sealed with a key that never enters the database (hookline.sealing): every
# CLI call, ingress and runner of the suite inherits this test key.
TEST_SECRET_KEYS = "ktest:JOultl_VCaqBOrqk3iyzjlj822DjOAvEmw3re9Z6jbc"
os.environ.setdefault("HOOKLINE_SECRET_KEYS", TEST_SECRET_KEYS)

# A run that leaves pg_cron out on purpose, to show the jobs work without it (tests/run does
# one such pass of the job tests after the main run when pg_cron is installed).
WITHOUT_CRON = os.environ.get("HOOKLINE_TEST_WITHOUT_CRON") == "1"


def require(available: bool, what: str) -> None:
    """Skip (with the reason) when a server feature is missing; under CI=true, fail instead."""
    if available:
        return
    if WITHOUT_CRON and what.startswith("pg_cron"):
        pytest.skip("this run leaves pg_cron out on purpose (HOOKLINE_TEST_WITHOUT_CRON=1)")
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing, and CI must run every test (.ci/run installs it)")
    pytest.skip(f"{what} is not installed on this machine")


class Server:
    def __init__(self, pg: LocalPostgres) -> None:
        self.pg = pg
        self.port = pg.port
        self.has_cron = pg.has_cron and pg.use_cron
        self.has_statements = pg.has_statements and pg.use_statements
        self.has_pgtap = (pg._config("--sharedir") / "extension" / "pgtap.control").is_file()
        self.bindir = pg.bindir

    def dsn(self, dbname: str) -> str:
        return self.pg.dsn(dbname)

    def janitor(self, dbname: str, template: str | None = None, **kw: object) -> DatabaseJanitor:
        return DatabaseJanitor(
            user="postgres", host="127.0.0.1", port=self.port, dbname=dbname,
            template_dbname=template, **kw,
        )  # fmt: skip


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    root = Path(tempfile.mkdtemp(prefix="hookline-test-pg-"))
    pg = LocalPostgres(root, durable=False, password=False, cron=not WITHOUT_CRON,
                        statements=True)  # fmt: skip
    pg.start()
    try:
        yield Server(pg)
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def template(server: Server) -> Iterator[str]:
    """The schema, deployed once; every `db` is a clone of it."""
    janitor = server.janitor(TEMPLATE, as_template=True)
    janitor.drop()
    janitor.init()
    dsn = server.dsn(TEMPLATE)
    Migrator(dsn).deploy()
    if server.has_pgtap:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("create extension pgtap")
    yield TEMPLATE
    janitor.drop()


def _fresh(server: Server, template: str | None) -> Iterator[str]:
    name = f"test_{os.getpid()}_{next(_counter)}"
    janitor = server.janitor(name, template)
    janitor.init()
    try:
        yield server.dsn(name)
    finally:
        janitor.drop()


@pytest.fixture
def db(server: Server, template: str) -> Iterator[str]:
    """DSN of a fresh database that has the whole schema."""
    yield from _fresh(server, template)


@pytest.fixture(scope="module")
def module_db(server: Server, template: str) -> Iterator[str]:
    """DSN of a database with the whole schema, shared by the tests of one module (for a
    long-running process such as the ingress); tests keep apart by their own source names."""
    yield from _fresh(server, template)


@pytest.fixture
def other_db(server: Server, template: str) -> Iterator[str]:
    """A second database with the whole schema."""
    yield from _fresh(server, template)


@pytest.fixture
def empty_db(server: Server) -> Iterator[str]:
    """DSN of a fresh database with nothing deployed."""
    yield from _fresh(server, None)


@pytest.fixture
def other_empty_db(server: Server) -> Iterator[str]:
    """A second empty database, for comparisons."""
    yield from _fresh(server, None)


@pytest.fixture
def conn(db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db, autocommit=True) as c:
        yield c


@pytest.fixture
def tenant_source(conn: psycopg.Connection) -> str:
    """A tenant `acme` with a WhatsApp source `acme-wa`; returns the source name."""
    conn.execute("insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme')")
    conn.execute(
        "insert into hookline.sources (tenant_id, name, kind, signing_secrets, verify_token) "
        "values ('acme', 'acme-wa', 'whatsapp', '{app-secret}', 'verify-me')"
    )
    return "acme-wa"
