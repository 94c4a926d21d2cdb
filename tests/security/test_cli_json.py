"""docs/cli-json.md is true: every documented `--json` command prints the documented keys, and
every listing or showing command of the click tree is documented there."""

from __future__ import annotations

import json
import re

import psycopg
from click.testing import CliRunner

from hookline.cli import main
from tests.cli_tree import leaf_commands
from tests.helpers import ROOT
from tests.security.conftest import Tenants

ROW = re.compile(r"^\| `hookline ([a-z -]+?)(?: [A-Z]+)? --json` \| (object|array) \| (.*) \|$")


def documented() -> dict[tuple[str, ...], tuple[str, list[str]]]:
    rows = {}
    for line in (ROOT / "docs" / "cli-json.md").read_text().splitlines():
        if m := ROW.match(line):
            keys = re.findall(r"`(\w+)`(?! with)", m[3].split(" (and ")[0])
            rows[tuple(m[1].split())] = (m[2], keys)
    return rows


def test_every_listing_command_is_documented() -> None:
    docs = documented()
    reads = [p for p, _c in leaf_commands() if p[-1] in ("list", "status", "plan", "verify")]
    assert sorted(set(reads) - set(docs)) == []
    assert ("stats",) in docs


def test_documented_keys_are_what_the_commands_print(db: str, two_tenants: Tenants) -> None:
    with psycopg.connect(db, autocommit=True) as owner:
        owner.execute("select hookline.add_sender('acme-wa', '1111', 'token-0123456789')")
        owner.execute("select hookline.set_breaker('sender:1111', 'open')")
    args = {("sources", "show"): ["acme-wa"], ("endpoints", "show"): ["acme-crm"]}
    runner = CliRunner()
    for path, (shape, keys) in documented().items():
        argv = [*path, *args.get(path, []), "--json"]
        if path != ("db", "plan"):
            argv += ["--dsn", db]
        result = runner.invoke(main, argv)
        assert result.exit_code == 0, (argv, result.output)
        data = json.loads(result.stdout)
        if shape == "array":
            assert data, f"{' '.join(path)}: nothing to compare"
            data = data[0]
        assert sorted(data) == sorted(keys), " ".join(path)
