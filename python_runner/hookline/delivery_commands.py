"""`hookline runner`, `hookline endpoints ...` and `hookline subscriptions ...`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg.rows import dict_row

from hookline import queries
from hookline.cli import dsn_option, fails_cleanly, read_secret, secret_options
from hookline.db import connect, resolve_dsn
from hookline.errors import HooklineError, SchemaTooNew, UnknownEndpoint, wrap_errors
from hookline.migrator import Migrator
from hookline.netguard import DEFAULT_ALLOWED, parse_networks

SCHEMA_TOO_NEW_EXIT = 57
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


def _call(dsn: str | None, query: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    with connect(resolve_dsn(dsn), autocommit=True) as conn, wrap_errors():
        cur = conn.cursor(row_factory=dict_row)
        cur.execute(query, params)
        return cur.fetchall() if cur.description else []


def _print_rows(rows: list[dict[str, Any]], as_json: bool, columns: list[str]) -> None:
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo("none")
        return
    widths = {
        c: max(len(c), *(len(str(r[c] if r[c] is not None else "")) for r in rows)) for c in columns
    }
    click.echo("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for r in rows:
        click.echo(
            "  ".join(
                str(r[c] if r[c] is not None else "").ljust(widths[c]) for c in columns
            ).rstrip()
        )


# --- runner -----------------------------------------------------------------------------


@click.command()
@dsn_option
@click.option("--name", help="Runner name recorded with leases and attempts (default: host-pid).")
@click.option("--concurrency", type=click.IntRange(1, 10000), default=32, show_default=True,
              help="Most requests in flight at once.")  # fmt: skip
@click.option("--batch", type=click.IntRange(1, 10000), default=32, show_default=True,
              help="Most deliveries claimed per round trip.")  # fmt: skip
@click.option("--lease", type=click.FloatRange(1, 3600), default=30.0, show_default=True,
              help="Lease in seconds (at least each endpoint's timeout + 1 s).")  # fmt: skip
@click.option("--poll", type=click.FloatRange(0.1, 600), default=5.0, show_default=True,
              help="Safety-net poll interval in seconds.")  # fmt: skip
@click.option("--grace", type=click.FloatRange(0, 3600), default=10.0, show_default=True,
              help="On SIGTERM/SIGINT, seconds to let requests finish.")  # fmt: skip
@click.option("--graph-url", envvar="HOOKLINE_GRAPH_URL", default="https://graph.facebook.com",
              show_default=True, help="Base URL of the WhatsApp Cloud (Graph) API.")  # fmt: skip
@click.option("--graph-version", envvar="HOOKLINE_GRAPH_VERSION", default="v25.0",
              show_default=True, help="Graph API version in the send URL.")  # fmt: skip
@click.option("--allow-network", "allow_networks", multiple=True, metavar="CIDR",
              envvar="HOOKLINE_ALLOW_NETWORKS", help="Networks endpoints may resolve to (repeat; "
              "env: comma-separated). Default: loopback, 10/8, 172.16/12, 192.168/16, fc00::/7. "
              "Link-local and metadata addresses are always refused.")  # fmt: skip
@fails_cleanly
def runner(dsn: str | None, name: str | None, concurrency: int, batch: int, lease: float,
           poll: float, grace: float, graph_url: str, graph_version: str,
           allow_networks: tuple[str, ...]) -> None:  # fmt: skip
    """Deliver due deliveries to their endpoints and send the WhatsApp outbox, until SIGTERM
    or SIGINT."""
    from hookline import runner as runner_module

    dsn = resolve_dsn(dsn)
    status = Migrator(dsn).status()
    if status.unknown:
        click.echo(
            f"hookline: {SchemaTooNew.__doc__} Unknown changes: {', '.join(status.unknown)}",
            err=True,
        )
        sys.exit(SCHEMA_TOO_NEW_EXIT)
    if status.pending or status.functions_pending:
        raise HooklineError("the schema is not fully deployed: run hookline db deploy first")

    networks = tuple(n for value in allow_networks for n in value.split(",") if n.strip())
    try:
        parse_networks(networks)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--allow-network") from exc

    settings = runner_module.Settings(
        dsn=dsn, name=name or runner_module.default_name(), concurrency=concurrency, batch=batch,
        lease_s=lease, poll_s=poll, grace_s=grace, graph_url=graph_url, graph_version=graph_version,
        allowed_networks=networks or DEFAULT_ALLOWED,
    )  # fmt: skip
    runner_module.run(settings)


# --- endpoints --------------------------------------------------------------------------


@click.group()
def endpoints() -> None:
    """Add, list, pause, resume and remove the handlers that receive deliveries."""


ENDPOINT_COLUMNS = [
    "name",
    "tenant",
    "state",
    "url",
    "max_in_flight",
    "live_deliveries",
    "dead_letters",
]


@endpoints.command("add")
@dsn_option
@click.argument("name")
@click.option("--tenant", required=True, help="Owning tenant.")
@click.option("--url", required=True, help="http(s) URL to POST deliveries to.")
@secret_options
@click.option("--timeout-ms", type=int, default=10000, show_default=True)
@click.option("--max-in-flight", type=int, default=10, show_default=True)
@click.option("--retry-schedule", metavar="INTERVALS",
              help="Comma-separated PostgreSQL intervals, e.g. '1 minute,10 minutes,1 hour'; "
                   "an empty string means no retries. Default: 1 min, 10 min, 1 h, 4 h, 12 h.")  # fmt: skip
@click.option("--retry-client-errors", is_flag=True, help="Retry 4xx answers (except 410) too.")
@json_option
@fails_cleanly
def endpoints_add(dsn: str | None, name: str, tenant: str, url: str, secret_file: Path | None,
                  secret_env: str | None, timeout_ms: int, max_in_flight: int,
                  retry_schedule: str | None, retry_client_errors: bool,
                  as_json: bool) -> None:  # fmt: skip
    """Add endpoint NAME; prints its signing secret.

    The Standard Webhooks secret (whsec_...) is generated, or read from --secret-file or
    --secret-env: never from the command line."""
    secret = read_secret(secret_file, secret_env, "secret", stdin=False)
    schedule = None
    if retry_schedule is not None:
        schedule = [p.strip() for p in retry_schedule.split(",") if p.strip()]
    try:
        rows = _call(dsn, queries.ADD_ENDPOINT, {
            "tenant": tenant, "name": name, "url": url, "signing_secret": secret,
            "timeout_ms": timeout_ms, "max_in_flight": max_in_flight, "retry_schedule": schedule,
            "is_retrying_client_errors": retry_client_errors,
        })  # fmt: skip
    except psycopg.errors.InvalidDatetimeFormat as exc:
        raise click.UsageError(f"--retry-schedule: {exc.diag.message_primary}") from exc
    row = rows[0]
    if as_json:
        click.echo(
            json.dumps(
                {"name": name, "endpoint_id": row["endpoint_id"], "signing_secret": row["secret"]}
            )
        )
    else:
        click.echo(f"endpoint {name} added; signing secret: {row['secret']}")


@endpoints.command("list")
@dsn_option
@json_option
@fails_cleanly
def endpoints_list(dsn: str | None, as_json: bool) -> None:
    """List the endpoints (never their secrets)."""
    rows = _call(dsn, queries.ENDPOINTS, {"name": None})
    _print_rows(rows, as_json, ENDPOINT_COLUMNS)


@endpoints.command("show")
@dsn_option
@click.argument("name")
@click.option("--reveal-secret", is_flag=True, help="Include the signing secret.")
@json_option
@fails_cleanly
def endpoints_show(dsn: str | None, name: str, reveal_secret: bool, as_json: bool) -> None:
    """Show one endpoint's settings and queue counts."""
    rows = _call(dsn, queries.ENDPOINTS, {"name": name})
    if not rows:
        raise UnknownEndpoint(f"unknown endpoint {name!r}")
    row = rows[0]
    if reveal_secret:
        row.update(_call(dsn, queries.ENDPOINT_SECRET, {"name": name})[0])
    if as_json:
        click.echo(json.dumps(row, indent=2, default=str))
        return
    for key, value in row.items():
        click.echo(f"{key}: {value if value is not None else ''}")


@endpoints.command("pause")
@dsn_option
@click.argument("name")
@click.option("--reason", default="paused by an operator", show_default=True)
@fails_cleanly
def endpoints_pause(dsn: str | None, name: str, reason: str) -> None:
    """Stop delivering to NAME; its deliveries wait."""
    rows = _call(dsn, queries.PAUSE_ENDPOINT, {"name": name, "reason": reason})
    click.echo(f"endpoint {name}: {rows[0]['pause_endpoint']}")


@endpoints.command("resume")
@dsn_option
@click.argument("name")
@click.option("--reason", help="Recorded in the audit log.")
@fails_cleanly
def endpoints_resume(dsn: str | None, name: str, reason: str | None) -> None:
    """Deliver to NAME again; waiting deliveries flow."""
    rows = _call(dsn, queries.RESUME_ENDPOINT, {"name": name, "reason": reason})
    click.echo(f"endpoint {name}: {rows[0]['resume_endpoint']}")


@endpoints.command("remove")
@dsn_option
@click.argument("name")
@fails_cleanly
def endpoints_remove(dsn: str | None, name: str) -> None:
    """Remove NAME and its subscriptions (refused while it has deliveries)."""
    _call(dsn, queries.REMOVE_ENDPOINT, {"name": name})
    click.echo(f"endpoint {name} removed")


# --- subscriptions ----------------------------------------------------------------------


@click.group()
def subscriptions() -> None:
    """Choose which event types (and sources) an endpoint receives."""


@subscriptions.command("add")
@dsn_option
@click.argument("endpoint")
@click.argument("pattern")
@click.option("--source", help="Only events of this source (default: every source of the tenant).")
@json_option
@fails_cleanly
def subscriptions_add(dsn: str | None, endpoint: str, pattern: str, source: str | None,
                      as_json: bool) -> None:  # fmt: skip
    """Subscribe ENDPOINT to event types matching PATTERN (e.g. 'whatsapp.message.*')."""
    rows = _call(
        dsn, queries.ADD_SUBSCRIPTION, {"endpoint": endpoint, "pattern": pattern, "source": source}
    )
    sub_id = rows[0]["add_subscription"]
    if as_json:
        click.echo(
            json.dumps({"id": sub_id, "endpoint": endpoint, "pattern": pattern, "source": source})
        )
    else:
        click.echo(
            f"subscription {sub_id}: {endpoint} receives {pattern}"
            + (f" from {source}" if source else "")
        )


@subscriptions.command("list")
@dsn_option
@click.option("--endpoint", help="Only this endpoint's.")
@json_option
@fails_cleanly
def subscriptions_list(dsn: str | None, endpoint: str | None, as_json: bool) -> None:
    """List subscriptions."""
    rows = _call(dsn, queries.SUBSCRIPTIONS, {"endpoint": endpoint})
    _print_rows(rows, as_json, ["id", "endpoint", "pattern", "source", "tenant"])


@subscriptions.command("remove")
@dsn_option
@click.argument("subscription_id", type=int)
@fails_cleanly
def subscriptions_remove(dsn: str | None, subscription_id: int) -> None:
    """Remove a subscription by id."""
    _call(dsn, queries.REMOVE_SUBSCRIPTION, {"id": subscription_id})
    click.echo(f"subscription {subscription_id} removed")
