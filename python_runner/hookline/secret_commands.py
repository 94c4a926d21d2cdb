"""`hookline secrets` (the key that seals stored secrets) and `hookline endpoints
rotate-secret` (a signing secret rotation with an overlap)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import click
from psycopg.types.json import Jsonb

from hookline import queries
from hookline.cli import dsn_option, fails_cleanly, read_secret, run_sql, secret_options
from hookline.delivery_commands import endpoints
from hookline.errors import HooklineError
from hookline.sealing import KEY_FILE_ENV, new_key_line, new_signing_secret, sealer


@click.group()
def secrets() -> None:
    """The key that seals stored secrets: make one, rotate to it."""


@secrets.command("new-key")
@click.option("--file", "path", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help=f"The key file ({KEY_FILE_ENV}); created (mode 600) if missing.")  # fmt: skip
def secrets_new_key(path: Path) -> None:
    """Put a new key first in the key file: it seals from now on; the older keys still open.
    Then restart the ingress and runners and run `hookline secrets rekey`."""
    old = path.read_text() if path.exists() else ""
    line = new_key_line()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(line + "\n" + old)
    click.echo(f"key {line.split(':', 1)[0]} added to {path}; it seals from now on")


@secrets.command("rekey")
@dsn_option
@fails_cleanly
def secrets_rekey(dsn: str | None) -> None:
    """Seal every stored secret under the newest key (plain ones too); as the owner."""
    keyring = sealer()
    changes = []
    for kind, ref, slot, value in run_sql(dsn, queries.STORED_SECRETS, {}):
        new = keyring.rewrap(value)
        if new != value:
            old_sha256 = hashlib.sha256(value.encode()).hexdigest()
            changes.append({"kind": kind, "ref": ref, "slot": slot,
                            "old_sha256": old_sha256, "new": new})  # fmt: skip
    (done,) = run_sql(dsn, queries.RESEAL_SECRETS, {"changes": Jsonb(changes)})[0]
    click.echo(f"{done} secrets sealed under key {keyring.active}")


@endpoints.command("rotate-secret")
@dsn_option
@click.argument("name")
@secret_options
@click.option("--finish", is_flag=True,
              help="End the overlap: only the newest secret signs from now on.")  # fmt: skip
@click.option("--reason", help="Recorded in the audit log.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@fails_cleanly
def endpoints_rotate_secret(dsn: str | None, name: str, secret_file: Path | None,
                            secret_env: str | None, finish: bool, reason: str | None,
                            as_json: bool) -> None:  # fmt: skip
    """Give endpoint NAME a new signing secret (generated, or --secret-file/--secret-env); the
    current one keeps signing next to it (two signatures per delivery) until --finish."""
    if finish and (secret_file or secret_env):
        raise HooklineError("--finish takes no secret")
    given = None if finish else read_secret(secret_file, secret_env, "secret", stdin=False)
    secret = None if finish else (given or new_signing_secret())
    ((endpoint_id, count),) = run_sql(
        dsn, queries.ROTATE_ENDPOINT_SECRET, {"name": name, "secret": secret, "reason": reason}
    )
    # A generated secret is shown once; one the operator gave is never printed back.
    shown = sealer().open(secret) if secret and not given else None
    if as_json:
        click.echo(json.dumps({"name": name, "endpoint_id": endpoint_id, "signing_secrets": count,
                               "signing_secret": shown}))  # fmt: skip
    elif finish:
        click.echo(f"endpoint {name}: rotation finished; one secret signs")
    elif shown:
        click.echo(f"endpoint {name}: new signing secret {shown}; both sign until --finish")
    else:
        click.echo(f"endpoint {name}: new signing secret set; both sign until --finish")
