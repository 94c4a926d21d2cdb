"""A reader for sqitch plan files (syntax version 1.0.0)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from hookline.errors import PlanError

_NAME = r"[^\s:@#\[\]\\/%]+"
_CHANGE = re.compile(
    rf"^(?P<name>{_NAME})"
    r"(?:\s+\[(?P<deps>[^\]]*)\])?"
    r"\s+(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"
    r"\s+(?P<planner>[^<]+?)\s+<(?P<email>[^>]*)>"
    r"(?:\s+#\s?(?P<note>.*))?$"
)
_TAG = re.compile(
    rf"^@(?P<name>{_NAME})\s+\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+[^<]+<[^>]*>(?:\s+#.*)?$"
)
_PRAGMA = re.compile(r"^%(?P<key>[a-z-]+)=(?P<value>.*)$")
_DEP = re.compile(rf"^(?P<conflict>!)?(?P<name>{_NAME})(?:@(?P<tag>{_NAME}))?$")


@dataclass(frozen=True)
class Change:
    name: str
    requires: tuple[str, ...]
    conflicts: tuple[str, ...]
    planned_at: str
    note: str
    line: str
    tags: list[str] = field(default_factory=list, compare=False)

    @property
    def line_sha(self) -> str:
        return hashlib.sha256(self.line.encode()).hexdigest()


@dataclass(frozen=True)
class Plan:
    project: str
    changes: tuple[Change, ...]
    top: Path

    def script(self, kind: str, change: Change) -> Path:
        return self.top / kind / f"{change.name}.sql"

    @property
    def names(self) -> set[str]:
        return {c.name for c in self.changes}

    def index(self, name: str) -> int:
        for i, change in enumerate(self.changes):
            if change.name == name:
                return i
        raise PlanError(f"{self.top / 'sqitch.plan'}: no change named {name!r}")


def read_plan(top: Path) -> Plan:
    """Parse `top/sqitch.plan`; every error names the file and line."""
    path = top / "sqitch.plan"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError(f"{path}: cannot read plan: {exc.strerror}") from exc

    project = None
    changes: list[Change] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        where = f"{path}:{number}"
        if not line or line.startswith("#"):
            continue
        if m := _PRAGMA.match(line):
            if m["key"] == "project":
                project = m["value"]
            continue
        if _TAG.match(line):
            if not changes:
                raise PlanError(f"{where}: a tag must follow a change")
            changes[-1].tags.append(line.split()[0])
            continue
        m = _CHANGE.match(line)
        if not m:
            raise PlanError(f"{where}: cannot parse plan line: {line[:80]!r}")
        name = m["name"]
        if name in seen:
            raise PlanError(
                f"{where}: change {name!r} appears twice: hookline does not rework changes; "
                "put the new definition into a new change (docs/migrations.md)"
            )
        requires, conflicts = [], []
        for dep in (m["deps"] or "").split():
            d = _DEP.match(dep)
            if not d:
                raise PlanError(f"{where}: cannot parse dependency {dep!r}")
            if d["conflict"]:
                conflicts.append(d["name"])
            elif d["name"] not in seen:
                raise PlanError(
                    f"{where}: {name!r} requires {d['name']!r}, which is not planned before it"
                )
            else:
                requires.append(d["name"])
        seen.add(name)
        changes.append(
            Change(name, tuple(requires), tuple(conflicts), m["ts"], m["note"] or "", line)
        )
    if project is None:
        raise PlanError(f"{path}: the %project pragma is missing")
    return Plan(project, tuple(changes), top)
