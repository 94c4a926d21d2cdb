"""Deploys the sqitch project in migrations/ and the repeatable files of functions/.

Each change runs in its own transaction together with its verify script and its registry row;
a failing deploy or verify rolls the whole change back. An advisory lock serialises
concurrent deploys. Functions are applied after the last change of the plan, in the order of
functions/index.sql, and re-applied when their text changes, keeping their privileges.

The schema version that every tool shares is hookline.schema_changes: each change from
table_schema_changes on records itself there, whether hookline db or sqitch deploys it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from hookline import queries
from hookline.db import connect
from hookline.errors import (
    MigrationError,
    PlanError,
    SchemaNotCurrent,
    SchemaTooNew,
    one_line,
)
from hookline.paths import data_dir
from hookline.plan import Change, Plan, read_plan

_BEGIN = re.compile(r"^\s*begin\s*;\s*$", re.IGNORECASE | re.MULTILINE)
_END = re.compile(r"^\s*(commit|rollback)\s*;\s*$", re.IGNORECASE | re.MULTILINE)
_INCLUDE = re.compile(r"^\\ir\s+(\S+)\s*$")
_BODY = re.compile(r"\bas\s+\$(\w*)\$(.*?)\$\1\$", re.IGNORECASE | re.DOTALL)
# The first change that records itself in hookline.schema_changes (it backfills the ones before).
VERSION_CHANGE = "table_schema_changes"
# The first change (it creates the schema) and the changes that create group roles when they
# are missing (roles are cluster-wide; a DBA creates them for a non-superuser owner).
SCHEMA_CHANGE = "schema_hookline"
GROUP_ROLES: dict[str, tuple[str, ...]] = {
    "role_hookline": (
        "hookline_owner", "hookline_ingest", "hookline_runner", "hookline_operator",
        "hookline_readonly",
    ),
    "role_hookline_sender": ("hookline_sender",),
}  # fmt: skip

Say = Callable[[str], None]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def script_body(path: Path) -> str:
    """The statements between a script's `BEGIN;` and its last `COMMIT;`/`ROLLBACK;`.

    Scripts keep sqitch's shape so that sqitch (through psql) runs them as they are; hookline
    runs the body inside its own transaction so that the registry row commits with it.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MigrationError(f"{path}: cannot read script: {exc.strerror}") from exc
    begin = _BEGIN.search(text)
    ends = list(_END.finditer(text))
    if not begin or not ends or ends[-1].start() < begin.end():
        raise MigrationError(
            f"{path}: a script must be wrapped in BEGIN; ... COMMIT; (or ROLLBACK;)"
        )
    return text[begin.end() : ends[-1].start()]


@dataclass
class FunctionFile:
    name: str
    path: Path

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def body(self) -> str | None:
        """The function's dollar-quoted body, as pg_proc.prosrc holds it once applied."""
        m = _BODY.search(self.text)
        return m[2] if m else None


def read_function_index(top: Path) -> list[FunctionFile]:
    index = top / "index.sql"
    try:
        lines = index.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise MigrationError(f"{index}: cannot read function index: {exc.strerror}") from exc
    files = []
    for number, line in enumerate(lines, start=1):
        m = _INCLUDE.match(line.strip())
        if not m:
            continue
        path = top / m[1]
        if not path.is_file():
            raise MigrationError(f"{index}:{number}: names {m[1]}, which does not exist")
        files.append(FunctionFile(path.stem, path))
    return files


@dataclass
class Status:
    deployed: list[tuple[str, str]] = field(default_factory=list)  # (change, deployed_at)
    version_from: str | None = None  # where the deployed changes were read
    pending: list[str] = field(default_factory=list)
    drifted: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # deployed, but not in the plan
    functions_pending: list[str] = field(default_factory=list)
    functions_orphaned: list[str] = field(default_factory=list)


class Migrator:
    def __init__(
        self,
        dsn: str,
        *,
        migrations: Path | None = None,
        functions: Path | None = None,
        say: Say = lambda _msg: None,
    ) -> None:
        self.dsn = dsn
        self.plan: Plan = read_plan(migrations or data_dir("migrations"))
        self.functions_dir = functions or data_dir("functions")
        self.say = say

    # -- reading state -------------------------------------------------------------------

    def _deployed(self, conn: psycopg.Connection) -> list[tuple[str, str, str]]:
        if not conn.execute(queries.REGISTRY_EXISTS).fetchone()[0]:
            return []
        return [(c, s, str(at)) for c, s, at, _by in conn.execute(queries.DEPLOYED_CHANGES)]

    def _check_prefix(self, deployed: list[tuple[str, str, str]]) -> None:
        for i, (name, _sha, _at) in enumerate(deployed):
            if i >= len(self.plan.changes) or self.plan.changes[i].name != name:
                raise PlanError(
                    f"the database has change {name!r} deployed at position {i + 1}, "
                    "which does not match the plan; revert it with the plan it came from"
                )

    def _version(self, conn: psycopg.Connection) -> tuple[list[tuple[str, str]], str | None]:
        """The deployed changes (name, when) as SQL records them, and where they were read.

        hookline.schema_changes is the version both tools maintain; a database deployed before
        it existed (release v0.1.0) is read from the registry of the tool that deployed it.
        """
        if conn.execute(queries.SCHEMA_CHANGES_EXISTS).fetchone()[0]:
            rows = conn.execute(queries.SCHEMA_CHANGES).fetchall()
            return [(c, str(at)) for c, at in rows], "hookline.schema_changes"
        if conn.execute(queries.REGISTRY_EXISTS).fetchone()[0]:
            rows = conn.execute(queries.DEPLOYED_CHANGES).fetchall()
            return [(c, str(at)) for c, _s, at, _by in rows], "hookline_registry"
        if conn.execute(queries.SQITCH_REGISTRY_READABLE).fetchone()[0]:
            rows = conn.execute(queries.SQITCH_CHANGES, {"project": self.plan.project}).fetchall()
            return [(c, str(at)) for c, at in rows], "sqitch"
        return [], None

    def _functions_differing(
        self, conn: psycopg.Connection, files: list[FunctionFile]
    ) -> list[str]:
        """Files whose function is missing, or whose body differs from the catalog's."""
        bodies: dict[str, set[str]] = {}
        for name, source in conn.execute(queries.FUNCTION_BODIES):
            bodies.setdefault(name, set()).add(source)
        return [f.name for f in files if f.body not in bodies.get(f.name, set())]

    def _state(self, conn: psycopg.Connection, st: Status) -> list[FunctionFile]:
        st.deployed, st.version_from = self._version(conn)
        names = {c.name for c in self.plan.changes}
        done = {n for n, _at in st.deployed}
        st.unknown = [n for n, _at in st.deployed if n not in names]
        st.pending = [c.name for c in self.plan.changes if c.name not in done]
        files = read_function_index(self.functions_dir)
        st.functions_pending = self._functions_differing(conn, files) if st.deployed else []
        return files

    def require_current(self) -> None:
        """Refuse a schema that does not match this package, whichever tool deployed it.

        A database with changes this package does not know is newer: SchemaTooNew (exit 57),
        and nothing is changed. Pending changes or functions name what to deploy.
        """
        with connect(self.dsn, autocommit=True) as conn:
            st = Status()
            self._state(conn, st)
        self._refuse_newer(st.unknown)
        if st.pending or st.functions_pending:
            what = []
            if st.pending:
                what.append(f"pending changes: {', '.join(st.pending)}")
            if st.functions_pending:
                what.append(f"functions to apply: {', '.join(st.functions_pending)}")
            raise SchemaNotCurrent(
                "the schema is older than this hookline ("
                + "; ".join(what)
                + "): run hookline db deploy (or sqitch deploy and psql -f functions/index.sql)"
            )

    def _refuse_newer(self, unknown: list[str]) -> None:
        if unknown:
            raise SchemaTooNew(
                f"the database has changes this hookline does not know ({', '.join(unknown)}): "
                "it is newer than this package; upgrade hookline (nothing was changed)"
            )

    def status(self) -> Status:
        with connect(self.dsn, autocommit=True) as conn:
            st = Status()
            files = self._state(conn, st)
            registry = self._deployed(conn)
            for name, deploy_sha, _at in registry:
                if name not in {c.name for c in self.plan.changes}:
                    continue
                script = self.plan.script("deploy", self.plan.changes[self.plan.index(name)])
                if not script.is_file() or sha(script.read_text(encoding="utf-8")) != deploy_sha:
                    st.drifted.append(name)
            if registry:  # hookline db also re-applies a file whose text changed outside the body
                applied = dict(conn.execute(queries.APPLIED_FUNCTIONS))
                changed = {f.name for f in files if applied.get(f.name) != sha(f.text)}
                st.functions_pending = [
                    f.name for f in files if f.name in changed or f.name in st.functions_pending
                ]
                st.functions_orphaned = sorted(set(applied) - {f.name for f in files})
            return st

    # -- deploy --------------------------------------------------------------------------

    def deploy(self, to: str | None = None) -> list[str]:
        """Deploy pending changes (up to `to`), then the functions if the plan is complete."""
        last = self.plan.index(to) if to else len(self.plan.changes) - 1
        function_files = read_function_index(self.functions_dir)
        with connect(self.dsn, autocommit=True) as conn:
            conn.execute(queries.DEPLOY_LOCK)
            try:
                version, source = self._version(conn)
                self._refuse_newer([n for n, _at in version if n not in self.plan.names])
                # (a sqitch registry without changes, as a failed `sqitch deploy` leaves it, is
                # a database nothing was deployed to)
                if version and source != "hookline_registry" and not self._deployed(conn):
                    raise MigrationError(
                        f"{len(version)} change(s) were deployed by another tool (sqitch): "
                        "keep deploying this database with it (docs/migrations.md)"
                    )
                done = {n for n, _at in version}
                self._preflight(
                    conn, [c.name for c in self.plan.changes[: last + 1] if c.name not in done]
                )
                conn.execute(queries.CREATE_REGISTRY)
                deployed = self._deployed(conn)
                self._check_prefix(deployed)
                pending = list(self.plan.changes[len(deployed) : last + 1])
                for change in pending:  # every script must exist before anything runs
                    for kind in ("deploy", "revert", "verify"):
                        if not self.plan.script(kind, change).is_file():
                            raise MigrationError(
                                f"change {change.name}: missing {kind} script "
                                f"{self.plan.script(kind, change)}"
                            )
                for change in pending:
                    try:
                        self._deploy_one(conn, change)
                    except MigrationError as exc:
                        conn.execute(
                            queries.LOG_EVENT,
                            {"action": "fail", "change": change.name, "detail": str(exc)},
                        )
                        raise
                if last == len(self.plan.changes) - 1:
                    self._apply_functions(conn, function_files)
                    # Today's and the premake window's partitions, before any row arrives.
                    conn.execute(queries.PREMAKE_PARTITIONS)
            finally:
                conn.execute(queries.DEPLOY_UNLOCK)
        return [c.name for c in pending]

    def _preflight(self, conn: psycopg.Connection, pending: list[str]) -> None:
        """Refuse, before anything runs, a deploy that would stop half-way for want of what only
        a DBA gives (docs/security.md, "Granting roles to people and services (DBA)"): the
        group roles, when the deploying role may not create roles; the right to create the
        schema in the database. Without this, a non-superuser owner's deploy failed at
        role_hookline with "permission denied to create role", the changes before it
        committed."""
        roles = [r for change in pending for r in GROUP_ROLES.get(change, ())]
        if not roles and SCHEMA_CHANGE not in pending:
            return
        role, database, missing, creates_roles, creates_schemas = conn.execute(
            queries.DEPLOY_RIGHTS, {"roles": roles}
        ).fetchone()
        lacks, run = [], []
        if missing and not creates_roles:
            lacks.append(
                f"the group roles {', '.join(missing)} do not exist and role {role} may not "
                "create roles (it is neither a superuser nor CREATEROLE)"
            )
            run += [f"create role {r} nologin" for r in missing]
        if SCHEMA_CHANGE in pending and not creates_schemas:
            db_name = sql.Identifier(database).as_string()
            lacks.append(f"role {role} may not create schemas in database {db_name}")
            run.append(f"grant create on database {db_name} to {role}")
        if lacks:
            raise MigrationError(
                f"{'; '.join(lacks)}: nothing was deployed. A DBA runs this once, as "
                'docs/security.md says ("Granting roles to people and services (DBA)"): '
                f"{'; '.join(run)}; then deploy again"
            )

    def _run(self, conn: psycopg.Connection, change: Change, kind: str) -> str:
        path = self.plan.script(kind, change)
        body = script_body(path)
        try:
            conn.execute(body)  # type: ignore[arg-type]  # a script file, not composed SQL
        except psycopg.Error as exc:
            raise MigrationError(
                f"change {change.name}: {kind} script {path} failed: {one_line(exc)}"
            ) from exc
        return body

    def _deploy_one(self, conn: psycopg.Connection, change: Change) -> None:
        deploy_text = self.plan.script("deploy", change).read_text(encoding="utf-8")
        with conn.transaction():
            self._run(conn, change, "deploy")
            with conn.transaction(force_rollback=True):
                self._run(conn, change, "verify")
            if (
                self._records_itself(change)
                and not conn.execute(
                    queries.SCHEMA_CHANGE_RECORDED, {"change": change.name}
                ).fetchone()[0]
            ):
                raise MigrationError(
                    f"change {change.name}: its deploy script must record the change in "
                    "hookline.schema_changes (docs/migrations.md, Writing a change)"
                )
            conn.execute(
                queries.RECORD_DEPLOY,
                {
                    "change": change.name,
                    "project": self.plan.project,
                    "plan_line_sha": change.line_sha,
                    "deploy_sha": sha(deploy_text),
                },
            )
            conn.execute(
                queries.LOG_EVENT, {"action": "deploy", "change": change.name, "detail": None}
            )
        self.say(f"+ {change.name}")

    def _records_itself(self, change: Change) -> bool:
        """Whether the change must write its row of hookline.schema_changes."""
        return VERSION_CHANGE in self.plan.names and self.plan.index(
            change.name
        ) >= self.plan.index(VERSION_CHANGE)

    def _drop_function(self, conn: psycopg.Connection, name: str) -> None:
        for (signature,) in conn.execute(queries.FUNCTIONS_NAMED, {"name": name}).fetchall():
            conn.execute(sql.SQL("drop function {}").format(sql.SQL(signature)))  # type: ignore[arg-type]

    def _apply_functions(self, conn: psycopg.Connection, files: list[FunctionFile]) -> None:
        """Apply changed function files and drop orphans, all in one transaction."""
        with conn.transaction():
            applied = dict(conn.execute(queries.APPLIED_FUNCTIONS))
            wanted = {f.name for f in files}
            for orphan in sorted(set(applied) - wanted):
                self._drop_function(conn, orphan)
                conn.execute(queries.FORGET_FUNCTION, {"file": orphan})
                self.say(f"- function {orphan} (its file is gone)")
            differing = set(self._functions_differing(conn, files))  # missing or edited by hand
            for f in files:
                text = f.text
                if applied.get(f.name) == sha(text) and f.name not in differing:
                    continue
                self._replace_function(conn, f)
                conn.execute(queries.RECORD_FUNCTION, {"file": f.name, "sha": sha(text)})
                conn.execute(
                    queries.LOG_EVENT, {"action": "functions", "change": f.name, "detail": None}
                )
                self.say(f"~ function {f.name}")

    def _replace_function(self, conn: psycopg.Connection, f: FunctionFile) -> None:
        """Apply a function file so that the function keeps its privileges.

        The file says `create or replace`: with an unchanged signature the function is
        replaced in place and keeps its grants. When the signature changes, the old function
        is dropped (a changed signature replaces, never overloads) and every role that could
        execute it is granted execute on the new one: the documented grants in the file and
        any a DBA made by hand.
        """
        before = dict(conn.execute(queries.FUNCTION_OIDS, {"name": f.name}).fetchall())
        grantees = [g for (g,) in conn.execute(queries.FUNCTION_GRANTEES, {"name": f.name})]
        try:
            try:
                with conn.transaction():
                    conn.execute(f.text)  # type: ignore[arg-type]  # a script file
            except psycopg.errors.InvalidFunctionDefinition:  # a changed return type or names
                for signature in before.values():
                    conn.execute(sql.SQL("drop function {}").format(sql.SQL(signature)))  # type: ignore[arg-type]
                conn.execute(f.text)  # type: ignore[arg-type]
                before = {}
        except psycopg.Error as exc:
            raise MigrationError(f"function file {f.path} failed: {one_line(exc)}") from exc
        after = dict(conn.execute(queries.FUNCTION_OIDS, {"name": f.name}).fetchall())
        if not after:
            raise MigrationError(f"function file {f.path} does not define hookline.{f.name}")
        new = [sig for oid, sig in after.items() if oid not in before]
        if not new and before:
            return  # replaced in place: privileges kept
        for oid, signature in before.items():
            if oid in after:
                conn.execute(sql.SQL("drop function {}").format(sql.SQL(signature)))  # type: ignore[arg-type]
        for signature in new:
            for grantee in grantees:
                conn.execute(
                    sql.SQL("grant execute on function {} to {}").format(
                        sql.SQL(signature),  # type: ignore[arg-type]
                        sql.Identifier(grantee),
                    )
                )

    # -- revert --------------------------------------------------------------------------

    def revert(self, to: str | None = None) -> list[str]:
        """Revert deployed changes after `to` (all when None), newest first.

        Functions are dropped first (functions/uninstall.sql): they may use what the reverted
        changes remove. A later deploy re-applies them.
        """
        keep = self.plan.index(to) + 1 if to else 0
        with connect(self.dsn, autocommit=True) as conn:
            conn.execute(queries.DEPLOY_LOCK)
            try:
                deployed = self._deployed(conn)
                self._check_prefix(deployed)
                targets = [self.plan.changes[i] for i in range(len(deployed) - 1, keep - 1, -1)]
                for change in targets:
                    if not self.plan.script("revert", change).is_file():
                        raise MigrationError(
                            f"change {change.name}: missing revert script "
                            f"{self.plan.script('revert', change)}"
                        )
                for i, change in enumerate(targets):
                    with conn.transaction():
                        if i == 0:  # with the first revert, so that its failure keeps them
                            self._uninstall_functions(conn)
                        self._run(conn, change, "revert")
                        conn.execute(queries.RECORD_REVERT, {"change": change.name})
                        conn.execute(
                            queries.LOG_EVENT,
                            {"action": "revert", "change": change.name, "detail": None},
                        )
                    self.say(f"- {change.name}")
            finally:
                conn.execute(queries.DEPLOY_UNLOCK)
        return [c.name for c in targets]

    def _uninstall_functions(self, conn: psycopg.Connection) -> None:
        uninstall = self.functions_dir / "uninstall.sql"
        try:
            conn.execute(uninstall.read_text(encoding="utf-8"))  # type: ignore[arg-type]
        except (OSError, psycopg.Error) as exc:
            raise MigrationError(f"{uninstall} failed: {one_line(exc)}") from exc
        conn.execute(queries.FORGET_ALL_FUNCTIONS)

    # -- verify --------------------------------------------------------------------------

    def verify(self) -> list[tuple[str, str | None]]:
        """Run every deployed change's verify script; (change, error or None) for each."""
        results: list[tuple[str, str | None]] = []
        with connect(self.dsn, autocommit=True) as conn:
            deployed = self._deployed(conn)
            self._check_prefix(deployed)
            for name, _sha, _at in deployed:
                change = self.plan.changes[self.plan.index(name)]
                try:
                    with conn.transaction(force_rollback=True):
                        self._run(conn, change, "verify")
                    results.append((name, None))
                except MigrationError as exc:
                    results.append((name, str(exc)))
        return results
