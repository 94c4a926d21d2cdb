"""The `hookline` command."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn

import click
import psycopg

from hookline import __version__, queries
from hookline.db import START_WAIT_S, START_WAIT_VARIABLE, connect, resolve_dsn
from hookline.errors import HooklineError, SchemaTooNew, one_line, wrap_errors
from hookline.migrator import Migrator
from hookline.sealing import KEY_FILE_ENV, KEYS_ENV, new_key_line, sealer

dsn_option = click.option(
    "--dsn", envvar=None, help="libpq connection string; else HOOKLINE_DSN, else DATABASE_URL."
)


reason_option = click.option("--reason", help="Why; recorded in the audit log.")

database_wait_option = click.option(
    "--database-wait", type=click.FloatRange(0, 86400), default=START_WAIT_S,
    envvar=START_WAIT_VARIABLE, show_default=True, metavar="SECONDS",
    help="At the start, how long to wait for a database that is down, starting or shutting "
    "down, or fails the start-up checks in a way that may pass (0: fail at once). See "
    "docs/resilience.md.",
)  # fmt: skip


# Exit statuses other than 1 (docs/errors.md): 57 = the database is newer than this package.
EXIT_CODES: dict[type[HooklineError], int] = {SchemaTooNew: 57}
BIGINT = 2**63 - 1


def fail(message: str, status: int = 1) -> NoReturn:
    click.echo(f"hookline: {message}", err=True)
    sys.exit(status)


def explain(exc: BaseException) -> NoReturn:
    """One line on stderr and a non-zero exit for any error: never a traceback."""
    if isinstance(exc, HooklineError):
        fail(str(exc), EXIT_CODES.get(type(exc), 1))
    if isinstance(exc, psycopg.Error):
        state = f"SQLSTATE {exc.sqlstate}: " if exc.sqlstate else ""
        fail(f"{state}{exc.diag.message_primary or one_line(exc)}")
    if isinstance(exc, UnicodeError):
        fail("an argument, variable or input is not valid UTF-8")
    if isinstance(exc, OSError):
        fail(f"{exc.filename or 'I/O'}: {exc.strerror or one_line(exc)}")
    fail(f"unexpected {type(exc).__name__}: {one_line(exc)}", 70)


@contextlib.contextmanager
def explained() -> Iterator[None]:
    """Click's own exits pass; any other error becomes one explained line."""
    try:
        yield
    except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as exc:
        explain(exc)


def metrics_options(default_port: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--metrics-host and --metrics-port: the metrics endpoint, never on the webhook port;
    and --log-format."""

    def add(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = click.option(
            "--log-format", type=click.Choice(["human", "json"]), default="human",
            envvar="HOOKLINE_LOG_FORMAT", show_default=True,
            help="Log lines on stderr: human, or JSON lines with trace ids (docs/observability.md).",
        )(fn)  # fmt: skip
        fn = click.option(
            "--metrics-port", type=click.IntRange(0, 65535), default=default_port,
            show_default=True, help="Port of the Prometheus metrics endpoint (0: any free port).",
        )(fn)  # fmt: skip
        return click.option(
            "--metrics-host", default="127.0.0.1", show_default=True,
            help="Address of the Prometheus metrics endpoint.",
        )(fn)  # fmt: skip

    return add


def fails_cleanly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """One line on stderr and a non-zero exit status for every error of the command."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with explained():
            return fn(*args, **kwargs)

    return wrapper


class FiniteFloat(click.FloatRange):
    """A float option that refuses nan and infinity (a plain FloatRange lets nan through)."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return rv


def harden(command: click.Command) -> None:
    """Every float option of the tree refuses nan/inf; every integer fits a bigint.

    Applied to the whole command tree when `hookline` starts, so a command added anywhere
    gets the same validation without remembering to ask for it.
    """
    for param in command.params:
        kind = param.type
        if isinstance(kind, click.types.FloatParamType) and not isinstance(kind, FiniteFloat):
            bounds = kind if isinstance(kind, click.FloatRange) else click.FloatRange()
            param.type = FiniteFloat(bounds.min, bounds.max, bounds.min_open, bounds.max_open)
        elif isinstance(kind, click.types.IntParamType):
            bounds = kind if isinstance(kind, click.IntRange) else click.IntRange()
            low = -BIGINT - 1 if bounds.min is None else max(bounds.min, -BIGINT - 1)
            high = BIGINT if bounds.max is None else min(bounds.max, BIGINT)
            param.type = click.IntRange(low, high, bounds.min_open, bounds.max_open)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            harden(sub)


class HooklineGroup(click.Group):
    """The root command: hardens the tree, refuses non-UTF-8 arguments, explains errors."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        harden(self)
        return super().main(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        for arg in args:
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                raise click.UsageError(
                    f"argument {arg.encode('utf-8', 'replace').decode()!r} is not valid UTF-8",
                    ctx,
                ) from None
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        with explained():
            return super().invoke(ctx)


def say(message: str) -> None:
    click.echo(message)


@click.group(cls=HooklineGroup)
@click.version_option(__version__, prog_name="hookline")
def main() -> None:
    """hookline: durable WhatsApp webhooks on PostgreSQL."""


@main.group()
def db() -> None:
    """Deploy, revert, verify and inspect the schema."""


@db.command()
@dsn_option
@click.option("--to", "to", metavar="CHANGE", help="Stop after this change of the plan.")
@fails_cleanly
def deploy(dsn: str | None, to: str | None) -> None:
    """Deploy pending changes, then (re-)apply changed functions."""
    said: list[str] = []

    def tell(message: str) -> None:
        said.append(message)
        say(message)

    Migrator(resolve_dsn(dsn), say=tell).deploy(to)
    if not said:
        click.echo("nothing to deploy: the database is up to date")


@db.command()
@dsn_option
@click.option("--to", "to", metavar="CHANGE", help="Keep this change and those before it.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@fails_cleanly
def revert(dsn: str | None, to: str | None, yes: bool) -> None:
    """Revert deployed changes, newest first (all of them without --to)."""
    migrator = Migrator(resolve_dsn(dsn), say=say)
    if not yes:
        if not sys.stdin.isatty():
            raise HooklineError("refusing to revert without -y (no terminal to confirm on)")
        target = f"to {to}" if to else "every change"
        click.confirm(f"Revert {target}? Data in reverted tables is lost.", abort=True)
    if not migrator.revert(to):
        click.echo("nothing to revert")


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@db.command()
@dsn_option
@json_option
@fails_cleanly
def verify(dsn: str | None, as_json: bool) -> None:
    """Run the verify script of every deployed change."""
    results = Migrator(resolve_dsn(dsn)).verify()
    if as_json:
        shape = [{"change": name, "ok": error is None, "error": error} for name, error in results]
        click.echo(json.dumps(shape, indent=2))
        if any(error for _n, error in results):
            sys.exit(1)
        return
    for name, error in results:
        click.echo(f"{'ok' if error is None else 'FAIL'}  {name}" + (f": {error}" if error else ""))
    if any(error for _n, error in results):
        sys.exit(1)
    if not results:
        click.echo("nothing deployed")


@db.command()
@dsn_option
@json_option
@fails_cleanly
def status(dsn: str | None, as_json: bool) -> None:
    """Show deployed and pending changes, drift and function state."""
    st = Migrator(resolve_dsn(dsn)).status()
    if as_json:
        click.echo(json.dumps(st.__dict__, indent=2))
    else:
        last = st.deployed[-1] if st.deployed else None
        click.echo(
            f"deployed: {len(st.deployed)} change(s)"
            + (f", last {last[0]} at {last[1]}" if last else "")
            + (f" (read from {st.version_from})" if st.version_from else "")
        )
        click.echo(f"pending:  {', '.join(st.pending) or 'none'}")
        if st.drifted:
            click.echo(f"DRIFT:    deployed script changed since: {', '.join(st.drifted)}")
        if st.unknown:
            click.echo(f"UNKNOWN:  deployed but not in the plan: {', '.join(st.unknown)}")
        click.echo(f"functions to apply: {', '.join(st.functions_pending) or 'none'}")
        if st.functions_orphaned:
            click.echo(f"orphaned functions (file gone): {', '.join(st.functions_orphaned)}")
    if st.unknown:
        raise SchemaTooNew(
            "the database is newer than this package (changes it does not know: "
            f"{', '.join(st.unknown)}); upgrade hookline"
        )


@db.command("plan")
@json_option
@fails_cleanly
def plan_cmd(as_json: bool) -> None:
    """List the changes of the plan, in order."""
    from hookline.paths import data_dir
    from hookline.plan import read_plan

    changes = read_plan(data_dir("migrations")).changes
    if as_json:
        shape = [
            {"change": c.name, "requires": list(c.requires), "conflicts": list(c.conflicts),
             "tags": c.tags, "planned_at": c.planned_at, "note": c.note}
            for c in changes
        ]  # fmt: skip
        click.echo(json.dumps(shape, indent=2))
        return
    for change in changes:
        deps = f" [{' '.join(change.requires)}]" if change.requires else ""
        tags = f" {' '.join(change.tags)}" if change.tags else ""
        click.echo(f"{change.name}{deps}{tags}  # {change.note}")


@main.group()
def cron() -> None:
    """Scheduled jobs: list, run now, change a schedule, hand them to pg_cron."""


@cron.command("list")
@dsn_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@fails_cleanly
def cron_list(dsn: str | None, as_json: bool) -> None:
    """Each job, its schedule, where it runs, its last run, and pg_cron's last call of it;
    stale jobs and failed pg_cron calls are named on stderr."""
    from hookline.cron import listing

    found = listing(resolve_dsn(dsn))
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in found.jobs], indent=2, default=str))
    else:
        click.echo(f"{'job':<22} {'schedule':<14} {'runs in':<8} {'last run (UTC)':<20} result")
        for r in found.jobs:
            when = r.last_started_at.strftime("%Y-%m-%d %H:%M:%S") if r.last_started_at else "never"
            result = f"{r.last_status}: {r.last_message}" if r.last_status else ""
            enabled = "" if r.is_enabled else " (disabled)"
            click.echo(
                f"{r.job_name:<22} {r.schedule:<14} {r.runs_in:<8} {when:<20} {result}{enabled}"
            )
            if r.runs_in == "pg_cron" and r.cron_last_status:
                click.echo(
                    f"{'':<22} pg_cron {r.cron_job_name} called {r.cron_last_start:%Y-%m-%d %H:%M:%S}: "
                    f"{r.cron_last_status}"
                    + (f": {r.cron_last_message}" if r.cron_last_status == "failed" else "")
                )
        if found.cron_note:
            click.echo(found.cron_note)
    for problem in found.problems:
        click.echo(f"hookline: {problem}", err=True)


@cron.command("run")
@dsn_option
@click.argument("name")
@fails_cleanly
def cron_run(dsn: str | None, name: str) -> None:
    """Run the job NAME now and print its result."""
    from hookline.cron import jobs, run_now
    from hookline.db import connect

    target = resolve_dsn(dsn)
    status = run_now(target, name)
    with connect(target) as conn:
        job = next(j for j in jobs(conn) if j.job_name == name)
    click.echo(f"{name}: {status}" + (f": {job.last_message}" if job.last_message else ""))
    if status == "failed":
        sys.exit(1)


@cron.command("schedule")
@dsn_option
@click.argument("name")
@click.argument("expression")
@reason_option
@fails_cleanly
def cron_schedule(dsn: str | None, name: str, expression: str, reason: str | None) -> None:
    """Set the cron EXPRESSION (five fields, UTC) of the job NAME."""
    from hookline.cron import set_schedule
    from hookline.scheduler import next_slot

    if next_slot(expression, datetime.now(UTC)) is None:
        raise HooklineError(
            f"invalid cron schedule {expression!r}: five fields, e.g. '*/15 * * * *'"
        )
    set_schedule(resolve_dsn(dsn), name, expression, reason)
    click.echo(f"{name}: {expression}")


@cron.command("register")
@dsn_option
@fails_cleanly
def cron_register(dsn: str | None) -> None:
    """Schedule the jobs with pg_cron (in its database) to run in this database."""
    from hookline.cron import register

    for name in register(resolve_dsn(dsn)):
        click.echo(f"registered {name}")


@cron.command("unregister")
@dsn_option
@fails_cleanly
def cron_unregister(dsn: str | None) -> None:
    """Remove this database's jobs from pg_cron; the runners run them from then on."""
    from hookline.cron import unregister

    click.echo(f"unregistered {unregister(resolve_dsn(dsn))} pg_cron job(s)")


def default_data_dir() -> Path:
    if os.geteuid() == 0:  # root's home is closed to the postgres user that runs the server
        return Path("/var/lib/hookline")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hookline"


@main.command()
@dsn_option
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None,
    help="Where the private server keeps its data (default: per-user data folder).",
)  # fmt: skip
@click.option(
    "--port", type=click.IntRange(1, 65535), default=54329, show_default=True,
    help="Port of the system server on 127.0.0.1 (the embedded one uses a unix socket).",
)  # fmt: skip
@click.option(
    "--server", "kind", type=click.Choice(["auto", "system", "embedded"]), default="auto",
    show_default=True, help="system PostgreSQL binaries, the embedded pgserver, or system when installed.",
)  # fmt: skip
@click.option(
    "--ingress-port", type=click.IntRange(1, 65535), default=8788, show_default=True,
    help="Port of the webhook ingress on 127.0.0.1.",
)  # fmt: skip
@click.option(
    "--ingress-metrics-port", type=click.IntRange(1, 65535), default=9464, show_default=True,
    help="Port of the ingress's metrics endpoint on 127.0.0.1.",
)  # fmt: skip
@click.option(
    "--runner-metrics-port", type=click.IntRange(1, 65535), default=9465, show_default=True,
    help="Port of the runner's metrics endpoint on 127.0.0.1.",
)  # fmt: skip
@fails_cleanly
def up(
    dsn: str | None, data_dir: Path | None, port: int, kind: str, ingress_port: int,
    ingress_metrics_port: int, runner_metrics_port: int,
) -> None:  # fmt: skip
    """Start a private PostgreSQL, the ingress and a runner (with --dsn: only deploy); stay up
    until Ctrl-C."""
    from hookline.cron import enable as enable_pg_cron
    from hookline.embedded import private_server

    if dsn or os.environ.get("HOOKLINE_DSN") or os.environ.get("DATABASE_URL"):
        Migrator(resolve_dsn(dsn), say=say).deploy()
        click.echo("schema deployed")
        return
    stop = stop_on_signals()  # from here on, Ctrl-C shuts everything down in order
    data_dir = data_dir or default_data_dir()
    ensure_secret_key(data_dir)
    with private_server(data_dir, port, kind) as server_dsn:
        Migrator(server_dsn, say=say).deploy()
        enable_pg_cron(server_dsn, say)
        url = f"http://127.0.0.1:{ingress_port}"
        ingress_args = ["ingress", "--host", "127.0.0.1", "--port", str(ingress_port),
                        "--metrics-port", str(ingress_metrics_port)]  # fmt: skip
        runner_args = ["runner", "--metrics-port", str(runner_metrics_port)]
        with child(server_dsn, *ingress_args), child(server_dsn, *runner_args) as runner:
            # Announced once the children are started, so a reader can use all of it at once.
            click.echo(f"hookline is up. Database: {server_dsn}")
            click.echo(f'  psql "{server_dsn}"')
            click.echo(f"For the other commands, in another shell:\n  {shell_exports(server_dsn)}")
            click.echo(f"Ingress: {url}/webhooks/{{source}}")
            click.echo(
                f"Metrics: ingress http://127.0.0.1:{ingress_metrics_port}/metrics, "
                f"runner http://127.0.0.1:{runner_metrics_port}/metrics"
            )
            click.echo(f"A runner (pid {runner.pid}) delivers to the endpoints. Ctrl-C stops all.")
            stop.wait()
            click.echo("stopping")


def shell_exports(dsn: str) -> str:
    """The export line that gives another shell this database and, when `up` made it, the key
    that seals its secrets (a key given as HOOKLINE_SECRET_KEYS is not printed)."""
    names = {"HOOKLINE_DSN": dsn}
    if os.environ.get(KEY_FILE_ENV):
        names[KEY_FILE_ENV] = os.environ[KEY_FILE_ENV]
    return "export " + " ".join(f"{k}={shlex.quote(v)}" for k, v in names.items())


def ensure_secret_key(data_dir: Path) -> None:
    """Without a key in the environment, `hookline up` seals secrets with a key file in its
    data directory (made on first use, mode 600), which its children and this process use."""
    if os.environ.get(KEY_FILE_ENV) or os.environ.get(KEYS_ENV):
        return
    path = data_dir / "secret.keys"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(new_key_line() + "\n")
    os.environ[KEY_FILE_ENV] = str(path)
    click.echo(f"secrets are sealed with the key in {path} (export {KEY_FILE_ENV}={path})")


@contextlib.contextmanager
def child(dsn: str, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`hookline ARGS` as a child process; the DSN (with its password) goes by environment."""
    process = subprocess.Popen(
        [sys.executable, "-m", "hookline", *args], env={**os.environ, "HOOKLINE_DSN": dsn}
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def stop_on_signals() -> threading.Event:
    """An event that SIGINT or SIGTERM sets (children start with the default handlers)."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _sig, _frame: stop.set())
    return stop


@main.command()
@dsn_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8788, show_default=True)
@click.option(
    "--db-timeout", type=click.FloatRange(0.1, 300), default=5.0, show_default=True,
    help="Seconds to wait for a connection or a statement before answering 503.",
)  # fmt: skip
@click.option(
    "--cache-seconds", type=click.FloatRange(0, 3600), default=5.0, show_default=True,
    help="How long a source's secrets are reused before they are read again.",
)  # fmt: skip
@click.option("--pool-size", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option(
    "--groups-in-flight", type=click.IntRange(1, 100), default=2, show_default=True,
    help="Transactions storing requests at once; requests arriving meanwhile share the next.",
)  # fmt: skip
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning"]), default="info",
    show_default=True, help="debug adds one line per stored request (docs/observability.md).",
)  # fmt: skip
@database_wait_option
@metrics_options(9464)
@fails_cleanly
def ingress(
    dsn: str | None, host: str, port: int, db_timeout: float, cache_seconds: float, pool_size: int,
    groups_in_flight: int, log_level: str, database_wait: float, metrics_host: str,
    metrics_port: int, log_format: str,
) -> None:  # fmt: skip
    """Serve the webhook ingress (POST/GET /webhooks/{source}, /healthz, /readyz); metrics on
    --metrics-host:--metrics-port."""
    from hookline.ingress import Settings, serve
    from hookline.resilience import at_start

    dsn = resolve_dsn(dsn)
    at_start(Migrator(dsn).require_current, [dsn], database_wait)
    settings = Settings(
        dsn, db_timeout=db_timeout, cache_seconds=cache_seconds, pool_size=pool_size,
        groups_in_flight=groups_in_flight, metrics_host=metrics_host, metrics_port=metrics_port, log_format=log_format,
        log_level=getattr(logging, log_level.upper()),
    )  # fmt: skip
    serve(settings, host, port)


@main.group()
def sources() -> None:
    """Add, list, show, rotate the secret of, and remove sources."""


def read_secret(path: Path | None, env: str | None, what: str, *, stdin: bool) -> str | None:
    """A secret from a file, an environment variable or standard input, never from argv,
    sealed with the deployment's key (hookline.sealing): the database and its statement log
    only ever see the sealed value. Without a key, nothing is stored (SecretKeyError)."""
    if path is not None:
        value = path.read_text()
    elif env is not None:
        if env not in os.environ:
            raise HooklineError(f"environment variable {env} is not set")
        value = os.environ[env]
    elif not stdin:
        return None
    elif sys.stdin.isatty():
        value = click.prompt(what, hide_input=True, err=True)
    else:
        value = sys.stdin.readline()
    value = value.rstrip("\r\n")
    if not value:
        raise HooklineError(f"the {what} is empty")
    return sealer().seal(value)


def secret_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--secret-env", metavar="VAR", help="Read the secret from this environment variable."
    )(fn)
    return click.option(
        "--secret-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read the secret from this file.",
    )(fn)  # fmt: skip


def run_sql(
    dsn: str | None, query: Any, params: dict[str, Any], *, reason: str | None = None,
    row_factory: Any = None,
) -> list[Any]:  # fmt: skip
    """Run one statement in its own transaction; with a reason, the audit rows it writes carry
    it (the transaction-local setting hookline.reason that the audit triggers read)."""
    with connect(resolve_dsn(dsn), autocommit=True) as conn, wrap_errors(), conn.transaction():
        cur = conn.cursor(row_factory=row_factory) if row_factory else conn.cursor()
        if reason is not None:
            cur.execute(queries.SET_AUDIT_REASON, {"reason": reason})
        cur.execute(query, params)
        return cur.fetchall() if cur.description else []


SOURCE_FIELDS = ("name", "tenant", "kind", "secrets", "has_verify_token", "max_body_bytes",
                 "created_at", "updated_at")  # fmt: skip


def source_json(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, datetime) else v
        for k, v in zip(SOURCE_FIELDS, row, strict=True)
    }


def echo_source(row: tuple[Any, ...], as_json: bool = False) -> None:
    if as_json:
        click.echo(json.dumps(source_json(row), indent=2))
        return
    name, tenant, kind, secrets, has_token, max_bytes, created, updated = row
    click.echo(f"name:          {name}")
    click.echo(f"tenant:        {tenant}")
    click.echo(f"kind:          {kind}")
    click.echo(f"secrets:       {secrets}" + (" (rotating)" if secrets > 1 else ""))
    click.echo(f"verify token:  {'set' if has_token else 'not set'}")
    click.echo(f"max body:      {max_bytes} bytes")
    click.echo(f"created:       {created.isoformat()}")
    click.echo(f"updated:       {updated.isoformat()}")


@sources.command("add")
@dsn_option
@click.argument("name")
@click.option("--tenant", required=True, help="The owning tenant's id.")
@click.option("--create-tenant", is_flag=True, help="Create the tenant if it does not exist.")
@click.option(
    "--kind", type=click.Choice(["whatsapp", "standard-webhooks"]), default="whatsapp",
    show_default=True,
)  # fmt: skip
@secret_options
@click.option("--verify-token-env", metavar="VAR", help="Read the verify token from this variable.")
@click.option(
    "--verify-token-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the verify token (of the WhatsApp handshake) from this file.",
)  # fmt: skip
@click.option("--max-body-bytes", type=click.IntRange(1), default=4194304, show_default=True)
@reason_option
@fails_cleanly
def sources_add(
    dsn: str | None, name: str, tenant: str, create_tenant: bool, kind: str,
    secret_file: Path | None, secret_env: str | None, verify_token_env: str | None,
    verify_token_file: Path | None, max_body_bytes: int, reason: str | None,
) -> None:  # fmt: skip
    """Add a source; its secret comes from --secret-file, --secret-env or standard input."""
    secret = read_secret(secret_file, secret_env, "secret", stdin=True)
    token = read_secret(verify_token_file, verify_token_env, "verify token", stdin=False)
    params = {"tenant": tenant, "name": name, "kind": kind, "secret": secret,
              "verify_token": token, "max_body_bytes": max_body_bytes,
              "create_tenant": create_tenant}  # fmt: skip
    run_sql(dsn, queries.ADD_SOURCE, params, reason=reason)
    echo_source(run_sql(dsn, queries.SHOW_SOURCE, {"name": name})[0])


@sources.command("list")
@dsn_option
@json_option
@fails_cleanly
def sources_list(dsn: str | None, as_json: bool) -> None:
    """List the sources (never their secrets)."""
    rows = run_sql(dsn, queries.LIST_SOURCES, {})
    if as_json:
        click.echo(json.dumps([source_json(r) for r in rows], indent=2))
        return
    if not rows:
        click.echo("no sources")
        return
    click.echo(f"{'name':<24} {'tenant':<16} {'kind':<18} secrets  verify token")
    for name, tenant, kind, secrets, has_token, *_ in rows:
        token = "set" if has_token else "-"
        click.echo(f"{name:<24} {tenant:<16} {kind:<18} {secrets:<8} {token}")


@sources.command("show")
@dsn_option
@click.argument("name")
@json_option
@fails_cleanly
def sources_show(dsn: str | None, name: str, as_json: bool) -> None:
    """Show one source (never its secrets)."""
    echo_source(run_sql(dsn, queries.SHOW_SOURCE, {"name": name})[0], as_json)


@sources.command("rotate-secret")
@dsn_option
@click.argument("name")
@secret_options
@click.option(
    "--finish", is_flag=True,
    help="End the rotation: keep only the newest secret (no new secret is read).",
)  # fmt: skip
@reason_option
@fails_cleanly
def sources_rotate_secret(
    dsn: str | None, name: str, secret_file: Path | None, secret_env: str | None, finish: bool,
    reason: str | None,
) -> None:  # fmt: skip
    """Add a new secret and keep the current one until --finish."""
    if finish:
        row = run_sql(dsn, queries.RETIRE_SECRET, {"name": name}, reason=reason)[0]
    else:
        secret = read_secret(secret_file, secret_env, "new secret", stdin=True)
        params = {"name": name, "secret": secret}
        row = run_sql(dsn, queries.ROTATE_SECRET, params, reason=reason)[0]
    echo_source(row)


@sources.command("remove")
@dsn_option
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@reason_option
@fails_cleanly
def sources_remove(dsn: str | None, name: str, yes: bool, reason: str | None) -> None:
    """Remove a source; its webhooks are answered 404 from then on."""
    if not yes:
        if not sys.stdin.isatty():
            raise HooklineError("refusing to remove without -y (no terminal to confirm on)")
        click.confirm(f"Remove source {name}?", abort=True)
    run_sql(dsn, queries.REMOVE_SOURCE, {"name": name}, reason=reason)
    click.echo(f"removed source {name}")


# Delivery commands live in their own module; registered here so `hookline` has them.
from hookline.delivery_commands import endpoints, runner, subscriptions  # noqa: E402

main.add_command(runner)
main.add_command(endpoints)
main.add_command(subscriptions)

from hookline.outbound_commands import breakers, senders  # noqa: E402

main.add_command(senders)
main.add_command(breakers)

from hookline.ops_commands import audit, dlq, stats, tenants  # noqa: E402

main.add_command(dlq)
main.add_command(stats)
main.add_command(audit)
main.add_command(tenants)

from hookline import secret_commands  # noqa: E402  (also adds endpoints rotate-secret)

main.add_command(secret_commands.secrets)
