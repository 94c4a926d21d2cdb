"""Every command of the reference pages (docs/*.md besides the runbooks and performance.md)
runs as written, against a real database seeded with what the page talks about: each page's
code blocks, in order, in one bash -e (SQL blocks through the real psql), with the page's
placeholders substituted explicitly (each substitution must still find its placeholder), the
output checked where the page says what a command prints.

What is not run is listed in SKIPPED with the reason (an output, a configuration file, a
synopsis, a three-minute benchmark run elsewhere with small arguments); a test fails when a
page gains a block or a command that is neither run nor listed, and when a listed line is gone.
README's tour runs in tests/integration/test_up.py, the runbooks in test_runbooks.py, the
benchmarks of docs/performance.md in test_benchmarks_run.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from hookline.pgcluster import LocalPostgres, free_port
from tests import pgbouncer as bouncer
from tests.conftest import require
from tests.helpers import ROOT, doc_blocks, promised
from tests.integration.test_cron import cron_server  # noqa: F401  (a fixture)

SENDER = "106540352242922"
BIN = Path(sys.executable).parent
RUN_FOR = "timeout -s INT --preserve-status 5 "  # a server or runner runs 5 s, then Ctrl-C

# Fenced blocks in these languages are not commands: diagrams, configuration, example payloads
# and outputs.
NOT_COMMANDS = {
    "mermaid": "a diagram",
    "yaml": "a configuration file (observability.md's two: checked below)",
    "ini": "a configuration file",
    "json": "an example payload",
    "text": "what a command prints",
}

# page -> the start of a block's first line -> why the whole block is not run
SKIPPED_BLOCKS: dict[str, dict[str, str]] = {
    "README.md": {
        "python3 -m venv .venv": "installs the package and starts `hookline up` for good "
        "(the wheel's install: test_wheel.py; up: test_up.py)",
        "bash tests/run": "the test suite itself",
        "hookline db deploy [--to CHANGE]": "## Commands: a synopsis ([...] and | are notation)",
    },
    "docs/delivery.md": {
        "insert into handled_webhooks": "the handler's own SQL ($1 is its parameter), an example",
    },
    "docs/migrations.md": {
        "hookline: the group roles hookline_owner,": "what `hookline db deploy` prints without "
        "the DBA's roles (tests/migration/test_deploy_without_roles.py)",
    },
    "docs/observability.md": {
        "Metrics: ingress http://": "what `hookline up` prints (test_up.py)",
        '{"time": ': "a log line of the ingress",
    },
    "docs/operations.md": {
        "shared_preload_libraries = ": "postgresql.conf, not commands",
    },
    "docs/resilience.md": {
        "hookline: cannot connect to": "what the CLI prints while it waits",
        "hookline: db.internal:5432/hookline: the start-up": "what the CLI prints",
        "2026-11-29T17:25:0": "log lines of a runner",
        "2026-12-01T00:20:14": "a runner's error line (test_refused_reconnect.py)",
    },
    "docs/security.md": {
        "using ((select hookline._sees_all_tenants())": "an excerpt of a policy, not a statement",
    },
}

# page -> the start of a line that is not run -> why
SKIPPED: dict[str, dict[str, str]] = {
    "docs/delivery.md": {
        "python benchmarks/delivery_fuzz.py": "a 3-minute fuzz run; test_benchmarks_run.py runs "
        "it with small arguments",
    },
    "docs/ingress.md": {
        "2000 POSTs: median": "what the benchmark above prints (checked)",
    },
    "docs/outbound.md": {
        "python benchmarks/outbox_fuzz.py": "a 3-minute fuzz run; test_benchmarks_run.py runs it "
        "with small arguments",
        "cd benchmarks && python outbox_claim_complete.py": "a benchmark; test_benchmarks_run.py "
        "runs it with small arguments",
        ".venv/bin/python benchmarks/outbox_ledger.py": "a crash ledger of minutes; "
        "test_benchmarks_run.py runs it with small arguments",
    },
}


@dataclass
class Page:
    path: str
    # (placeholder, what stands for it): each must occur in the page's commands
    placeholders: list[tuple[str, str]] = field(default_factory=list)
    # what the run's output must contain (what the page says a command prints)
    prints: list[str] = field(default_factory=list)  # regular expressions
    seed: Callable[[str], dict[str, str]] | None = None  # more placeholders, from the seed
    files: dict[str, str] = field(default_factory=dict)  # files the page tells you to make
    epilogue: str = ""  # run after the page, cleaning up what it made outside the database
    # (a command's start, what its page says must hold before it, as commands to run first)
    before: list[tuple[str, str]] = field(default_factory=list)


def is_sql(lines: list[str]) -> bool:
    first = next((line for line in lines if not line.startswith("--")), "")
    return re.match(r"(select|begin|insert|update|create|grant)\b", first, re.I) is not None


def page_text(page: str) -> str:
    text = (ROOT / page).read_text()
    if page == "README.md":  # the tour runs in test_up.py
        return text.replace(text[text.index("## A short tour") : text.index("## How it works")], "")
    return text


def page_script(page: str, text: str | None = None) -> tuple[str, list[str]]:
    """The page's commands (or those of a part of it) as one bash script (SQL blocks as psql
    here-documents), and the lines it left out (to check against SKIPPED)."""
    skipped = SKIPPED.get(page, {})
    parts: list[str] = []
    left_out: list[str] = []
    for language, lines in doc_blocks(page_text(page) if text is None else text):
        if language in NOT_COMMANDS:
            continue
        if any(lines[0].strip().startswith(s) for s in SKIPPED_BLOCKS.get(page, {})):
            left_out.extend(line.strip() for line in lines)
            continue
        kept = []
        for line in lines:
            if any(line.strip().startswith(start) for start in skipped):
                left_out.append(line.strip())
            else:
                kept.append(line)
        if not kept:
            continue
        if language == "sql" or (language == "" and is_sql(kept)):
            parts.append('psql "$HOOKLINE_DSN" -X -v ON_ERROR_STOP=1 <<\'SQL\'\n'
                         + "\n".join(kept) + "\nSQL")  # fmt: skip
        elif language == "":
            parts.append("\n".join(kept))
        else:
            raise AssertionError(f"{page}: a ```{language} block: run it or list it")
    return "\n".join(parts), left_out


def seed_delivery(dsn: str) -> dict[str, str]:
    """acme, its source acme-wa, endpoint crm subscribed to everything, three dead deliveries."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("select hookline.add_source('acme', 'acme-wa', 'whatsapp', 'secret')")
        crm = conn.execute(
            "select endpoint_id from hookline.add_endpoint('acme', 'crm', 'https://handler.invalid/')"
        ).fetchone()[0]
        conn.execute("select hookline.add_subscription('crm', '*')")
        conn.execute(
            "select hookline.ingest('acme-wa', 'w' || i, 'whatsapp.message.text', '{}')"
            " from generate_series(1, 3) i"
        )
        claimed = conn.execute(
            "select delivery_id, lease_token from hookline.claim('seed', 10, '1 minute')"
        ).fetchall()
        conn.execute("select count(*) from hookline.complete(%s)", (Jsonb([
            {"delivery_id": d, "lease_token": str(t), "status_code": 404} for d, t in claimed
        ]),))  # fmt: skip
    dead = sorted(d for d, _t in claimed)
    return {"endpoint": str(crm), "dead1": str(dead[0]), "dead2": str(dead[1])}


def seed_tenant(dsn: str) -> dict[str, str]:
    """Tenant acme, which the pages' commands name."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "insert into hookline.tenants (tenant_id, display_name) values ('acme', 'Acme')"
        )
    return {}


def seed_tenant_delivery(dsn: str) -> dict[str, str]:
    return {**seed_tenant(dsn), **seed_delivery(dsn)}


def seed_outbound(dsn: str) -> dict[str, str]:
    """acme-wa and endpoint crm as above; the handler's own table and role (the page's names)."""
    found = seed_tenant_delivery(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table public.orders_shipped (order_id bigint primary key)")
        conn.execute("create role shop_handler nologin")
    return found


# Pages run by tests of their own, below (sections on different databases, PgBouncer, a new server)
OWN_TESTS = {"docs/migrations.md", "docs/scaling.md", "docs/security.md"}

PAGES = {
    "docs/delivery.md": Page(
        "docs/delivery.md",
        placeholders=[
            ("where endpoint_id = 7", "where endpoint_id = {endpoint}"),
            ("array[123, 124]", "array[{dead1}, {dead2}]"),
            (
                'hookline runner --dsn "$HOOKLINE_DSN" --concurrency 32',
                RUN_FOR + 'hookline runner --dsn "$HOOKLINE_DSN" --concurrency 32 --metrics-port 0',
            ),
        ],
        prints=["Index Scan using deliveries_"],  # the plans the page shows (abridged)
        before=[
            (  # "On a scratch database with due deliveries":
                'psql "$HOOKLINE_DSN" -c "load \'auto_explain\'"',
                'psql "$HOOKLINE_DSN" -c "select count(*) from generate_series(1, 40) i, '
                "hookline.ingest('acme-wa', 'due' || i, 'whatsapp.message.text', '{}')\"",
            )
        ],
        seed=seed_tenant_delivery,
    ),
    "docs/ingress.md": Page(
        "docs/ingress.md",
        placeholders=[
            (
                "hookline ingress --host 0.0.0.0 --port 8788",
                RUN_FOR + "hookline ingress --host 0.0.0.0 --port {port} --metrics-port 0",
            ),
            (".venv/bin/python", sys.executable),
            ("-n 2000", "-n 50"),
        ],
        files={"new-secret.txt": "new-app-secret\n"},
        prints=["50 POSTs: median "],
    ),
    "docs/observability.md": Page(
        "docs/observability.md",
        placeholders=[
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 hookline runner",
                RUN_FOR + "env OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{otlp_port} "
                "hookline runner --metrics-port 0",
            ),
        ],
        prints=[
            "  SUCCESS: ",
            " rules found",
            "Unit Testing:  docs/prometheus/alerts.test.yml\n  SUCCESS",
        ],
        seed=seed_tenant,
    ),
    "docs/operations.md": Page(
        "docs/operations.md",
        seed=seed_tenant,
        epilogue='hookline cron unregister --dsn "$HOOKLINE_DSN"',
    ),
    "docs/outbound.md": Page(
        "docs/outbound.md",
        placeholders=[
            ("/run/secrets/wa-token", "./wa-token"),
            ("endpoint:7", "endpoint:{endpoint}"),
        ],
        files={"wa-token": "EAAG-token-2\n"},
        seed=seed_outbound,
        epilogue="psql \"$HOOKLINE_DSN\" -X -c 'drop table public.orders_shipped' "
        "-c 'drop role shop_handler'",
    ),
    "docs/sql-api.md": Page(
        "docs/sql-api.md",
        # ingest_many's example: two new events, returned in input order
        prints=[r"1 \|\s+\d+ \| t\n\s+2 \|\s+\d+ \| t\n\(2 rows\)"],
        seed=seed_tenant_delivery,
    ),
}


def fill(text: str, found: dict[str, str]) -> str:
    """text with each {name} of found replaced (and nothing else: SQL has braces too)."""
    for name, value in found.items():
        text = text.replace("{" + name + "}", value)
    return text


def run_page(page: Page, dsn: str, bindir: Path, cwd: Path | None = None,
             otlp_port: int = 0) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """The page's commands in one bash -e, HOOKLINE_DSN set to dsn, in a directory with the
    checkout's sql/, docs/, benchmarks/, functions/ and migrations/ and the page's files."""
    found = page.seed(dsn) if page.seed else {}
    found["port"], found["otlp_port"] = str(free_port()), str(otlp_port)
    script, _left_out = page_script(page.path)
    for start, commands in page.before:
        assert f"\n{start}" in f"\n{script}", f"{page.path} no longer has {start!r}"
        commands = fill(commands, found)
        script = f"\n{script}".replace(f"\n{start}", f"\n{commands}\n{start}", 1)[1:]
    for placeholder, value in page.placeholders:
        assert placeholder in script, f"{page.path} no longer has {placeholder!r}"
        script = script.replace(placeholder, fill(value, found))
    work = Path(tempfile.mkdtemp(prefix="hookline-doc-"))
    try:
        for name in ("sql", "docs", "benchmarks", "functions", "migrations"):
            (work / name).symlink_to(ROOT / name)
        for name, text in page.files.items():
            (work / name).write_text(text)
        full_env = {
            **{k: v for k, v in os.environ.items() if k not in ("HOOKLINE_DSN", "DATABASE_URL")},
            "HOOKLINE_DSN": dsn, "ADMIN_DSN": dsn, "APP_SECRET": "app-secret", "WA_VERIFY_TOKEN": "verify-token",
            "WA_TOKEN": "EAAG-token", "PATH": f"{BIN}:{bindir}:{os.environ['PATH']}",
        }  # fmt: skip
        run = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script + "\n" + page.epilogue],
            cwd=cwd or work, env=full_env, capture_output=True, text=True, timeout=300,
            check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert run.returncode == 0, (
        f"{page.path}:\n{script}\n--- stderr:\n{run.stderr}\n--- stdout:\n{run.stdout}"
    )
    assert "Traceback" not in run.stderr, run.stderr
    if os.environ.get("SHOW_DOC_RUNS"):
        print(f"=== {page.path}\n{run.stdout}\n--- stderr\n{run.stderr}")
    for pattern in [*page.prints, *promised(script)]:
        assert re.search(pattern, run.stdout + run.stderr, re.M), (
            f"{page.path}: no {pattern!r} in\n{run.stdout}\n--- stderr:\n{run.stderr}"
        )
    return run


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector that takes every export (observability.md's runner sends there)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.mark.parametrize("path", sorted(PAGES), ids=lambda p: Path(p).stem)
def test_every_command_of_the_page_runs(request, db: str, server, path: str) -> None:
    require(shutil.which("promtool") is not None, "promtool")
    if path == "docs/operations.md":  # `hookline cron register`: pg_cron in another database
        request.getfixturevalue("cron_server")
    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    try:
        run_page(PAGES[path], db, server.bindir, otlp_port=collector.server_address[1])
    finally:
        collector.shutdown()
        collector.server_close()


ALL_PAGES = ["README.md"] + [
    f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md")) if p.name != "performance.md"
]


@pytest.mark.parametrize("path", ALL_PAGES, ids=lambda p: Path(p).stem)
def test_every_block_is_run_or_listed(path: str) -> None:
    """A page's blocks are run here (PAGES, or a test of its own below), or listed as not run
    with the reason; each listed line is still on the page."""
    script, _left_out = page_script(path)
    if path not in PAGES and path not in OWN_TESTS:
        assert script == "", f"{path} has commands that no test runs:\n{script}"
    lines = [line.strip() for _lang, block in doc_blocks(page_text(path)) for line in block]
    for start in [*SKIPPED.get(path, {}), *SKIPPED_BLOCKS.get(path, {})]:
        assert any(line.startswith(start) for line in lines), f"{path}: {start!r} is gone"


def section(path: str, heading: str) -> str:
    """The text of a page's section, from its heading to the next heading of its level."""
    text = page_text(path)
    level = heading.split(" ", 1)[0]
    start = text.index(f"\n{heading}\n")
    following = [text.find(f"\n{level} ", start + 1)]
    return text[start : following[0] if following[0] > 0 else len(text)]


def sqitch_target(dsn: str) -> tuple[str, str]:
    """USER@HOST/DBNAME of a test database, for the page's db:pg:// and postgresql:// URLs."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return f"{info.get('user', 'postgres')}@{info['host']}:{info['port']}/{info['dbname']}", dsn


def test_every_command_of_migrations_md_runs(server, db: str, empty_db: str,
                                             other_empty_db: str) -> None:  # fmt: skip
    """Each section of docs/migrations.md on the database its reader has: the schema version
    on a deployed one, `hookline db` and plain sqitch each on an empty one (in the checkout),
    a change written in a copy of migrations/."""
    require(shutil.which("sqitch") is not None, "sqitch")
    path = "docs/migrations.md"
    target, _ = sqitch_target(other_empty_db)
    work = Path(tempfile.mkdtemp(prefix="hookline-doc-migrations-"))
    try:
        shutil.copytree(ROOT / "migrations", work / "migrations")
        (work / "functions").symlink_to(ROOT / "functions")
        cases = [
            ("## The schema version", db, [], ROOT, [r"^ table_schema_changes +\| "]),
            ("## With `hookline db`", empty_db, [], ROOT,
             [r"^nothing to deploy: the database is up to date", r"^functions to apply: none",
              r"^- schema_hookline", r"^schema_hookline  # "]),
            ("## With plain sqitch and psql", other_empty_db, [("USER@HOST/DBNAME", target)], ROOT,
             [r"^  \+ table_events \.+ ok", r"^  - table_events \.+ ok"]),
            ("## Writing a change", db, [(".venv/bin/squawk", str(BIN / "squawk"))], work,
             [r"Created deploy/table_widgets.sql"]),
        ]  # fmt: skip
        for heading, dsn, placeholders, cwd, prints in cases:
            script, _left_out = page_script(path, section(path, heading))
            assert script, f"{path}: {heading} has no commands"
            for placeholder, value in placeholders:
                assert placeholder in script, f"{path} no longer has {placeholder!r}"
                script = script.replace(placeholder, value)
            env = {
                **{k: v for k, v in os.environ.items() if k not in ("HOOKLINE_DSN", "DATABASE_URL")},
                "HOOKLINE_DSN": dsn, "PATH": f"{BIN}:{server.bindir}:{os.environ['PATH']}",
            }  # fmt: skip
            run = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd, env=env,
                capture_output=True, text=True, timeout=300, check=False, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            if os.environ.get("SHOW_DOC_RUNS"):
                print(f"=== {heading}\n{script}\n{run.stdout}\n--- stderr\n{run.stderr}")
            assert run.returncode == 0, (
                f"{heading}:\n{script}\n--- stderr:\n{run.stderr}\n--- stdout:\n{run.stdout}"
            )
            assert "Traceback" not in run.stderr
            for pattern in prints:
                assert re.search(pattern, run.stdout, re.M), f"{heading}: no {pattern!r}"
    finally:
        shutil.rmtree(work, ignore_errors=True)


SECURITY = Page(
    "docs/security.md",
    placeholders=[
        ("@db/hookline", "@127.0.0.1:{port}/hookline"),
        ("/var/log/hookline/audit-anchors", "./audit-anchors"),
        ("/etc/hookline/secret.keys", "./secret.keys"),
    ],
    # What the page talks about besides: tenant acme and endpoint crm, made as the owner.
    before=[
        (
            "hookline tenants grant acme_ops",
            "printf 'app-secret\\n' | hookline sources add "
            "acme-wa --tenant acme --create-tenant\nhookline endpoints add crm --tenant acme "
            "--url https://handler.invalid/ >/dev/null",
        )
    ],
    prints=[
        r"^\+ schema_hookline$",
        r"^acme_ops acts for acme",
        r"^owner: hookline_owner$",
        r"^#\d+ sha256:[0-9a-f]{64} rows=\d+ at=\S+$",  # the line `audit anchor` appends
        r"new signing secret whsec_\S+; both sign",
    ],
    epilogue='cat ./audit-anchors\npsql "$ADMIN_DSN" -X -At -c "select \'owner: \' || '
    "nspowner::regrole from pg_namespace where nspname = 'hookline'\"",
)


def test_every_command_of_security_md_runs_on_a_new_server() -> None:
    """docs/security.md as a DBA and an owner follow it on a new server (no hookline role
    exists yet), in its database `hookline`: the group roles, the login roles, the deploy as
    the owner through hookline_deployer, then the owner's commands."""
    root = Path(tempfile.mkdtemp(prefix="hookline-doc-security-"))
    pg = LocalPostgres(root, durable=False, password=False, cron=False)
    pg.start()
    try:
        with psycopg.connect(pg.dsn(), autocommit=True) as conn:
            assert (
                conn.execute(
                    "select count(*) from pg_roles where rolname like 'hookline%'"
                ).fetchone()[0]
                == 0
            )
            conn.execute("create database hookline")
        found = {"port": str(pg.port)}
        page = Page(SECURITY.path, [(a, fill(b, found)) for a, b in SECURITY.placeholders],
                    SECURITY.prints, None, SECURITY.files, SECURITY.epilogue, SECURITY.before)  # fmt: skip
        run_page(page, pg.dsn("hookline"), pg.bindir)
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_every_command_of_scaling_md_runs_through_pgbouncer(server, db: str) -> None:
    """docs/scaling.md's one command, the multi-runner benchmark with its fourth argument a
    PgBouncer in transaction mode (`default_pool_size = 20`, as the page says) in front of the
    same database; fewer events than the page's 1,500, to stay fast. Nothing is timed."""
    require(bouncer.available(), "pgbouncer")
    path = "docs/scaling.md"
    script, _left_out = page_script(path)
    with bouncer.pgbouncer(server.port, pool_size=20) as pooled:
        for placeholder, value in [
            ('"postgresql://...:6432/scratch"', f'"{pooled.dsn(db.rsplit("/", 1)[1])}"'),
            ('"postgresql://.../scratch"', f'"{db}"'),
            (" 1500 10 ", " 120 10 "),  # each of its 49 cold endpoints gets deliveries
        ]:
            assert placeholder in script, f"{path} no longer has {placeholder!r}"
            script = script.replace(placeholder, value)
        env = {**{k: v for k, v in os.environ.items() if k not in ("HOOKLINE_DSN", "DATABASE_URL")},
               "PATH": f"{BIN}:{server.bindir}:{os.environ['PATH']}"}  # fmt: skip
        run = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert run.returncode == 0, f"{script}\n--- stderr:\n{run.stderr}\n--- stdout:\n{run.stdout}"
    assert "Traceback" not in run.stderr
    # the table the page shows, with the rounds through PgBouncer
    assert re.search(r"^runners +deliveries/s +vs 1 runner", run.stdout, re.M), run.stdout
    assert re.search(r"^ *4 via the pooler +\d+ ", run.stdout, re.M), run.stdout


def test_observability_mds_configuration_files_are_valid(tmp_path: Path) -> None:
    """The Prometheus scrape configuration (its rule file as the page names it, from the
    checkout) passes `promtool check config`, the Alertmanager route `amtool check-config`."""
    for tool in ("promtool", "amtool"):
        require(shutil.which(tool) is not None, tool)
    blocks = [b for lang, b in doc_blocks(page_text("docs/observability.md")) if lang == "yaml"]
    scrape, route = ("\n".join(b) for b in blocks)  # the page's two YAML blocks, in order
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    (tmp_path / "prometheus.yml").write_text(scrape)
    (tmp_path / "alertmanager.yml").write_text(route)
    for args in (["promtool", "check", "config", "prometheus.yml"],
                 ["amtool", "check-config", "alertmanager.yml"]):  # fmt: skip
        run = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, f"{args}: {run.stdout}{run.stderr}"
