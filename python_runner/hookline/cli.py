"""The `hookline` command."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click

from hookline import __version__
from hookline.db import resolve_dsn
from hookline.errors import HooklineError
from hookline.migrator import Migrator

dsn_option = click.option(
    "--dsn", envvar=None, help="libpq connection string; else HOOKLINE_DSN, else DATABASE_URL."
)


def fails_cleanly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """One line on stderr and exit status 1 for every hookline error."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HooklineError as exc:
            click.echo(f"hookline: {exc}", err=True)
            sys.exit(1)

    return wrapper


def say(message: str) -> None:
    click.echo(message)


@click.group()
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
    done = Migrator(resolve_dsn(dsn), say=say).deploy(to)
    if not done:
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


@db.command()
@dsn_option
@fails_cleanly
def verify(dsn: str | None) -> None:
    """Run the verify script of every deployed change."""
    results = Migrator(resolve_dsn(dsn)).verify()
    for name, error in results:
        click.echo(f"{'ok' if error is None else 'FAIL'}  {name}" + (f": {error}" if error else ""))
    if any(error for _n, error in results):
        sys.exit(1)
    if not results:
        click.echo("nothing deployed")


@db.command()
@dsn_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@fails_cleanly
def status(dsn: str | None, as_json: bool) -> None:
    """Show deployed and pending changes, drift and function state."""
    st = Migrator(resolve_dsn(dsn)).status()
    if as_json:
        click.echo(json.dumps(st.__dict__, indent=2))
        return
    last = st.deployed[-1] if st.deployed else None
    click.echo(
        f"deployed: {len(st.deployed)} change(s)"
        + (f", last {last[0]} at {last[1]}" if last else "")
    )
    click.echo(f"pending:  {', '.join(st.pending) or 'none'}")
    if st.drifted:
        click.echo(f"DRIFT:    deployed script changed since: {', '.join(st.drifted)}")
    if st.unknown:
        click.echo(f"UNKNOWN:  deployed but not in the plan: {', '.join(st.unknown)}")
    click.echo(f"functions to apply: {', '.join(st.functions_pending) or 'none'}")
    if st.functions_orphaned:
        click.echo(f"orphaned functions (file gone): {', '.join(st.functions_orphaned)}")


@db.command("plan")
@fails_cleanly
def plan_cmd() -> None:
    """List the changes of the plan, in order."""
    from hookline.paths import data_dir
    from hookline.plan import read_plan

    for change in read_plan(data_dir("migrations")).changes:
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
    """Each job, its schedule, where it runs, and its last run."""
    from hookline.cron import jobs
    from hookline.db import connect

    with connect(resolve_dsn(dsn)) as conn:
        rows = jobs(conn)
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in rows], indent=2, default=str))
        return
    click.echo(f"{'job':<22} {'schedule':<14} {'runs in':<8} {'last run (UTC)':<20} result")
    for r in rows:
        when = r.last_started_at.strftime("%Y-%m-%d %H:%M:%S") if r.last_started_at else "never"
        result = f"{r.last_status}: {r.last_message}" if r.last_status else ""
        enabled = "" if r.is_enabled else " (disabled)"
        click.echo(f"{r.job_name:<22} {r.schedule:<14} {r.runs_in:<8} {when:<20} {result}{enabled}")


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
@fails_cleanly
def cron_schedule(dsn: str | None, name: str, expression: str) -> None:
    """Set the cron EXPRESSION (five fields, UTC) of the job NAME."""
    from hookline.cron import set_schedule
    from hookline.scheduler import next_slot

    if next_slot(expression, datetime.now(UTC)) is None:
        raise HooklineError(
            f"invalid cron schedule {expression!r}: five fields, e.g. '*/15 * * * *'"
        )
    set_schedule(resolve_dsn(dsn), name, expression)
    click.echo(f"{name}: {expression}")


@cron.command("register")
@dsn_option
@fails_cleanly
def cron_register(dsn: str | None) -> None:
    """Schedule the jobs with pg_cron (in its database) to run in this database."""
    from hookline.cron import register

    for name in register(resolve_dsn(dsn)):
        click.echo(f"registered hookline-{name}")


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
@fails_cleanly
def up(dsn: str | None, data_dir: Path | None, port: int, kind: str) -> None:
    """Start a private PostgreSQL (unless --dsn is given), deploy, and stay up until Ctrl-C."""
    from hookline.embedded import private_server

    if dsn or os.environ.get("HOOKLINE_DSN") or os.environ.get("DATABASE_URL"):
        Migrator(resolve_dsn(dsn), say=say).deploy()
        click.echo("schema deployed")
        return
    with private_server(data_dir or default_data_dir(), port, kind) as server_dsn:
        Migrator(server_dsn, say=say).deploy()
        click.echo(f"hookline is up. Database: {server_dsn}")
        click.echo(f'  psql "{server_dsn}"')
        click.echo("Ctrl-C stops it.")
        wait_for_signal()


def wait_for_signal() -> None:
    """Block until SIGINT or SIGTERM."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    click.echo("stopping")
