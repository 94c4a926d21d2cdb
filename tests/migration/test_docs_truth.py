"""Every command, flag, SQL function, view and error code that README.md and docs/ name
exists; every public SQL function and view, and every error code the SQL raises, is
documented. The lists come from the click tree, the deployed catalog and the SQL sources, so
commands and functions added later are held to the same rule."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import click
import psycopg

from hookline.cli import main
from tests.helpers import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SQL_SOURCES = [*sorted((ROOT / "functions").glob("*.sql")),
               *sorted((ROOT / "migrations" / "deploy").glob("*.sql"))]  # fmt: skip
CODE_SPAN = re.compile(r"`([^`\n]+)`")
# Lines of output that start with the word hookline.
OUTPUT = ("hookline is up",)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def code_of(page: Path) -> list[str]:
    """Inline code spans, indented code lines and fenced blocks of a Markdown page."""
    text = page.read_text()
    pieces = CODE_SPAN.findall(FENCE.sub("", text))
    pieces += [ln for ln in text.splitlines() if ln.startswith("    ")]
    pieces += [ln for block in FENCE.findall(text) for ln in block.splitlines()]
    return pieces


def command_lines() -> list[tuple[Path, str]]:
    return [
        (page, m.group(0))
        for page in PAGES
        for piece in code_of(page)
        for m in re.finditer(r"(?<![\w./-])hookline(?: +[^\s|;&#`]+)*", piece)
    ]


def test_every_documented_command_and_flag_exists() -> None:
    wrong = []
    for page, line in command_lines():
        words = line.split()[1:]
        command: click.Command = main
        while words and isinstance(command, click.Group) and words[0] in command.commands:
            command = command.commands[words.pop(0)]
        if command is main:
            if words and re.fullmatch(r"[a-z][a-z-]*", words[0]) and not line.startswith(OUTPUT):
                wrong.append(f"{page.name}: {line!r}: no command {words[0]!r}")
            continue
        if isinstance(command, click.Group) and words and not words[0].startswith("-"):
            wrong.append(f"{page.name}: {line!r}: no subcommand {words[0]!r}")
            continue
        known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
        for word in words:
            flag = re.match(r"-[-\w]*", word.lstrip("[("))
            if flag and flag[0] not in known and flag[0] not in ("-", "--"):
                wrong.append(f"{page.name}: {line!r}: no option {flag[0]}")
    assert wrong == []
    assert len(command_lines()) > 50, "the docs name commands"


def sql_names() -> set[str]:
    """hookline.<name> in the docs (not in file paths, nor in a Traces section, whose names are
    OpenTelemetry span and attribute names)."""
    names = set()
    for page in PAGES:
        text = re.sub(r"(?ms)^## Traces\b.*?(?=^## )", "", page.read_text())
        names |= set(re.findall(r"(?<![\w.'/])hookline\.([a-z_][a-z0-9_]*)", text))
    return names


def settings_and_modules(name: str) -> bool:
    """hookline.<name> is a setting or an event type the SQL names, or a module of the Python
    package."""
    if any(f"'hookline.{name}{end}" in p.read_text() for p in SQL_SOURCES for end in ("'", ".")):
        return True
    try:
        importlib.import_module(f"hookline.{name}")
    except ImportError:
        return False
    return True


def test_every_documented_sql_object_exists(conn: psycopg.Connection) -> None:
    catalog = {
        r[0]
        for r in conn.execute(
            """select proname::text from pg_proc where pronamespace = 'hookline'::regnamespace
               union select relname::text from pg_class where relnamespace = 'hookline'::regnamespace
               union select typname::text from pg_type where typnamespace = 'hookline'::regnamespace"""
        )
    }
    missing = sorted(n for n in sql_names() - catalog if not settings_and_modules(n))
    assert missing == [], "named in the docs, absent from schema hookline"


def test_every_public_function_and_view_is_in_the_sql_api(conn: psycopg.Connection) -> None:
    api = (ROOT / "docs" / "sql-api.md").read_text()
    public = [
        r[0]
        for r in conn.execute(
            """select proname::text from pg_proc
               where pronamespace = 'hookline'::regnamespace and proname !~ '^_'
               union select relname::text from pg_class
               where relnamespace = 'hookline'::regnamespace and relkind = 'v'
               order by 1"""
        )
    ]
    undocumented = [n for n in public if f"hookline.{n}" not in api]
    assert undocumented == [], "public SQL API missing from docs/sql-api.md"


def raised_codes() -> set[str]:
    return {
        code
        for p in SQL_SOURCES
        for code in re.findall(r"errcode\s*=\s*'(HL\d{3})'", p.read_text())
    }


def test_error_codes_in_the_docs_and_in_the_sql_agree() -> None:
    table = re.findall(r"^\| (HL\d{3}) \|", (ROOT / "docs" / "errors.md").read_text(), re.MULTILINE)
    assert len(table) == len(set(table)), "a code is listed twice in docs/errors.md"
    texts = [re.sub(r"HL\d{3}-HL\d{3}", "", page.read_text()) for page in PAGES]  # ranges
    named = {c for text in texts for c in re.findall(r"\bHL\d{3}\b", text)}
    assert sorted(named - raised_codes()) == [], "documented codes that no SQL raises"
    assert sorted(raised_codes() - set(table)) == [], (
        "codes the SQL raises, missing from docs/errors.md"
    )
