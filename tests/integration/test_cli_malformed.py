"""Every subcommand, walked from click's command tree, with malformed arguments and as a role
without privileges: each answers with a clean exit (never a Python traceback), and numeric
options refuse nan, infinity and numbers beyond bigint. Listing and showing commands have
--json (docs/cli-json.md)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
import psycopg
import pytest
from click.testing import CliRunner
from psycopg.conninfo import make_conninfo

from hookline.cli import main
from tests.cli_tree import SERVICES, leaf_commands
from tests.conftest import Server

NON_UTF8 = os.fsdecode(b"caf\xe9")  # what a Latin-1 terminal passes: a lone surrogate here
MALFORMED = [NON_UTF8, "9" * 40, "-5", "nan", "inf", "x'; drop table hookline.tenants; --",
             "x" * 100_000, ""]  # fmt: skip
READS = ("list", "show", "status", "plan", "verify")


@pytest.fixture
def nobody(server: Server, db: str) -> Iterator[str]:
    """A login role with no privilege on anything of hookline."""
    name = f"nobody_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f"create role {name} login")
    yield make_conninfo(db, user=name)
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f"drop role {name}")


def slots(command: click.Command) -> tuple[list[click.Argument], list[click.Option]]:
    args = [p for p in command.params if isinstance(p, click.Argument)]
    options = [
        p
        for p in command.params
        if isinstance(p, click.Option) and not p.is_flag and p.name != "dsn" and not p.hidden
    ]
    return args, options


def invocations(
    path: tuple[str, ...], command: click.Command, dsn: str, nobody: str
) -> Iterator[tuple[list[str], click.Parameter | None, str]]:
    """(argv, the parameter given the malformed value, the value)."""
    args, options = slots(command)
    has_dsn = any(p.name == "dsn" for p in command.params)
    target = nobody if path in SERVICES else dsn  # a service must never start serving here
    tail = ["--dsn", target] if has_dsn else []
    required = [o for o in options if o.required]
    for value in MALFORMED:
        base = [value] * len(args)
        for o in required:
            base += [o.opts[0], value]
        yield [*path, *base, *tail], args[0] if args else None, value
        for o in options:
            if not o.required:
                yield [*path, *base, o.opts[0], value, *tail], o, value
    if has_dsn:  # the wrong role, with plausible arguments
        base = ["x"] * len(args)
        for o in required:
            base += [o.opts[0], "x"]
        yield [*path, *base, "--dsn", nobody], None, "x"


def refused(param: click.Parameter | None) -> set[str]:
    """Values the parameter's type must refuse (exit status 2): not finite, beyond bigint."""
    if param is not None and isinstance(param.type, click.types.FloatParamType):
        return {"nan", "inf"}
    if param is not None and isinstance(param.type, click.types.IntParamType):
        return {"9" * 40, "nan", "inf"}
    return set()


def test_no_subcommand_shows_a_traceback(db: str, nobody: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.chdir(tmp_path)  # a malformed value may name a file a command writes (--file nan)
    runner = CliRunner()
    tried = 0
    for path, command in leaf_commands():
        for argv, param, value in invocations(path, command, db, nobody):
            result = runner.invoke(main, argv, env={"HOOKLINE_DSN": "", "DATABASE_URL": ""})
            tried += 1
            shown = argv[:4] if len(" ".join(argv)) > 200 else argv
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                shown, repr(result.exception)
            )  # fmt: skip
            assert "Traceback" not in result.output, shown
            if result.exit_code not in (0, 2):  # 2: click's usage errors, with their usage line
                lines = result.stderr.splitlines()
                assert len(lines) == 1 and lines[0].startswith("hookline: "), (shown, result.stderr)
            if value in refused(param):
                assert result.exit_code == 2, (shown, "a numeric option took", value)
    assert tried > 300


def test_wrong_role_answers_in_one_plain_line(db: str, nobody: str) -> None:
    """42501 is said in words, with where to look (errors.PermissionDenied)."""
    result = CliRunner().invoke(main, ["endpoints", "list", "--dsn", nobody])
    assert result.exit_code == 1
    assert result.stderr.startswith("hookline: permission denied for schema hookline")
    assert "docs/security.md lists what each role may" in result.stderr
    assert result.stderr.count("\n") == 1


def test_nan_is_refused_where_it_used_to_run(db: str) -> None:
    for argv in (["ingress", "--cache-seconds", "nan"], ["runner", "--poll", "nan"],
                 ["runner", "--poll", "inf"], ["senders", "set", "1", "--pair-interval", "nan"]):  # fmt: skip
        result = CliRunner().invoke(main, [*argv, "--dsn", db])
        assert result.exit_code == 2, argv
        assert "Invalid value for" in result.stderr, result.stderr


@pytest.mark.parametrize(
    "path", [p for p, _c in leaf_commands() if p[-1] in READS or p == ("stats",)], ids=" ".join
)
def test_every_listing_and_showing_command_has_json(path: tuple[str, ...]) -> None:
    command = dict(leaf_commands())[path]
    assert any("--json" in getattr(p, "opts", []) for p in command.params), " ".join(path)
