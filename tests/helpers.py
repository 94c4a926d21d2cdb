"""Small helpers shared by the tests: run the CLI as a user would, dump a schema."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent


def hookline(*args: str, env: dict[str, str] | None = None, timeout: float = 120,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """Run `hookline ARGS` in a subprocess, as a user would; never raises on exit status."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("HOOKLINE_DSN", "DATABASE_URL")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "hookline", *args],
        capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd, check=False,
    )  # fmt: skip


def schema_dump(bindir: Path, dsn: str, *exclude: str) -> str:
    """pg_dump --schema-only of a database, without the named schemas, comparable as text."""
    args = [str(bindir / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges", "-d", dsn]
    for schema in exclude:
        args += ["--exclude-schema", schema]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    # pg_dump 15.x+ prints a random \restrict key; it is not part of the schema.
    return "\n".join(
        line for line in out.splitlines() if not line.startswith(("\\restrict", "\\unrestrict"))
    )


def psql(bindir: Path, dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real psql (stops at the first error), capturing its output."""
    return subprocess.run(
        [str(bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


# What makes every statement's plan, nested ones included, come back as a notice: for a
# connection (plans_as_notices) or a psql session (each a -c before the script).
EXPLAIN_AS_NOTICES = (
    "load 'auto_explain'",
    "set auto_explain.log_nested_statements = on",
    "set auto_explain.log_level = notice",
)


def plans_as_notices(conn: psycopg.Connection) -> list[str]:
    """Loads auto_explain on the session so that every statement's plan, nested ones included,
    comes back as a notice, and returns the list that collects them. Set
    auto_explain.log_min_duration to 0 for the statements to explain (-1, the default here,
    explains none)."""
    for statement in EXPLAIN_AS_NOTICES:
        conn.execute(statement)
    plans: list[str] = []
    conn.add_notice_handler(lambda d: plans.append(d.message_primary or ""))
    return plans


def promised(script: str) -> list[str]:
    """What a doc's `# prints: ...` comments promise, as patterns (`...` stands for anything)
    that a line of the commands' output must start with."""
    return [
        "^" + re.escape(line.split("# prints: ", 1)[1].strip()).replace(r"\.\.\.", ".*")
        for line in script.splitlines()
        if "# prints: " in line
    ]


def assert_prints(script: str, output: str, where: str) -> None:
    """Each `# prints: ...` comment of script is kept by a line of output."""
    for pattern in promised(script):
        assert re.search(pattern, output, re.M), f"{where}: no {pattern!r} in\n{output}"


class IndexKeys:
    """The first column of each index of schema hookline, to tell a read by an index's key (a
    condition on its first column) from a walk of the whole index (the plan tests)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.first_column: dict[str, str] = dict(
            conn.execute(
                "select c.relname, a.attname from pg_catalog.pg_index i "
                "join pg_catalog.pg_class c on c.oid = i.indexrelid "
                "join pg_catalog.pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0] "
                "where c.relnamespace = 'hookline'::regnamespace"
            ).fetchall()
        )

    def bounded(self, index: str, cond: str) -> bool:
        """Whether a scan of `index` with this Index Cond reads by the index's key (an
        expression index, without a first column of its own, counts as keyed by its cond)."""
        column = self.first_column.get(index)
        return bool(cond) and (column is None or re.search(rf"\({column} ", cond) is not None)


def doc_commands(text: str) -> list[str]:
    """The lines of a Markdown text's indented code blocks (a block follows a blank line and is
    indented deeper than the text around it), continuation lines joined (doc_blocks reads them)."""
    return [line for language, block in doc_blocks(text) if language == "" for line in block]


def doc_blocks(text: str) -> list[tuple[str, list[str]]]:
    """The code blocks of a Markdown text, in order: ("", lines) for an indented block (a block
    follows a blank line and is indented deeper than the text around it; continuation lines
    joined), (language, lines) for a fenced one ("text" without a language)."""
    blocks: list[tuple[str, list[str]]] = []
    lines = text.splitlines()
    fence: str | None = None
    indented: list[str] = []
    in_block, indent = False, 0

    def close() -> None:
        if indented:
            joined = re.sub(r"\\\n\s*", "", "\n".join(indented)).splitlines()
            blocks.append(("", joined))
            indented.clear()

    for i, line in enumerate(lines):
        stripped = line.strip()
        if fence is not None:
            if stripped.startswith("```"):
                fence = None
            else:
                blocks[-1][1].append(line)
            continue
        if stripped.startswith("```"):
            close()
            in_block, fence = False, stripped[3:].strip() or "text"
            blocks.append((fence, []))
            continue
        depth = len(line) - len(line.lstrip(" "))
        if not stripped:
            continue
        previous = lines[i - 1] if i else ""
        if not in_block and not previous.strip() and depth >= 4:
            text_indent = next(
                (len(p) - len(p.lstrip(" ")) for p in reversed(lines[:i - 1]) if p.strip()), 0
            )  # fmt: skip
            in_block, indent = depth >= text_indent + 4, depth
        elif in_block and depth < indent:
            in_block = False
        elif in_block and not previous.strip():
            close()  # a blank line between two blocks at the same depth: a new block
        if in_block:
            indented.append(stripped)
        else:
            close()
    close()
    return blocks
