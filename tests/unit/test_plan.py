"""The sqitch plan reader."""

from __future__ import annotations

from pathlib import Path

import pytest

from hookline.errors import PlanError
from hookline.plan import read_plan

HEAD = "%syntax-version=1.0.0\n%project=demo\n\n"
WHO = "2026-11-28T10:00:00Z Ann Planner <ann@example.org>"


def plan(tmp_path: Path, body: str):
    (tmp_path / "sqitch.plan").write_text(HEAD + body)
    return read_plan(tmp_path)


def test_changes_dependencies_notes_and_tags(tmp_path: Path) -> None:
    p = plan(
        tmp_path,
        f"a {WHO} # first\nb [a !old] {WHO}\n@v1 {WHO} # tag\n# a comment\nc [a b] {WHO} # third # with hash\n",
    )
    assert p.project == "demo"
    assert [c.name for c in p.changes] == ["a", "b", "c"]
    assert p.changes[0].note == "first"
    assert p.changes[1].requires == ("a",) and p.changes[1].conflicts == ("old",)
    assert p.changes[1].tags == ["@v1"]
    assert p.changes[2].note == "third # with hash"
    assert p.index("c") == 2


def test_a_dependency_must_be_planned_before(tmp_path: Path) -> None:
    with pytest.raises(
        PlanError, match=r"sqitch.plan:4: 'a' requires 'b', which is not planned before it"
    ):
        plan(tmp_path, f"a [b] {WHO}\nb {WHO}\n")


def test_a_line_without_planner_is_rejected_with_its_number(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"sqitch.plan:5: cannot parse plan line: 'b 2026-11-28'"):
        plan(tmp_path, f"a {WHO}\nb 2026-11-28\n")


def test_a_duplicate_change_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="appears twice"):
        plan(tmp_path, f"a {WHO}\na {WHO}\n")


def test_the_project_pragma_is_required(tmp_path: Path) -> None:
    (tmp_path / "sqitch.plan").write_text(f"a {WHO}\n")
    with pytest.raises(PlanError, match="%project pragma is missing"):
        read_plan(tmp_path)


def test_a_missing_plan_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"sqitch.plan: cannot read plan"):
        read_plan(tmp_path)
