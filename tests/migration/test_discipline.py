"""Migration discipline (docs/migrations.md): released changes never change, and new changes
pass squawk's checks for locking hazards, with each exception justified next to the change."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hookline.plan import read_plan
from tests.conftest import require
from tests.helpers import ROOT

TOP = ROOT / "migrations"
PLAN = read_plan(TOP)
RELEASED = TOP / "released.sha256"
KINDS = ("deploy", "revert", "verify")
# Where each released change ends: the index after the change that carries the newest tag.
LAST_TAGGED = max(i for i, c in enumerate(PLAN.changes) if c.tags) + 1
# Not checked: a statement_timeout would abort a long but legitimate deploy step (a backfill);
# what blocks other sessions is a lock wait, and require-lock-timeout bounds that.
SQUAWK_EXCLUDED = "require-statement-timeout"


def recorded() -> dict[str, str]:
    """released.sha256 as {path: sha256}; the format `sha256sum -c` reads."""
    lines = RELEASED.read_text().splitlines()
    pairs = [ln.split("  ", 1) for ln in lines if ln and not ln.startswith("#")]
    return {path: digest for digest, path in pairs}


def test_every_released_script_is_recorded_and_unchanged() -> None:
    """Works in any checkout, shallow or not: the hashes are committed beside the plan."""
    hashes = recorded()
    for change in PLAN.changes[:LAST_TAGGED]:
        for kind in KINDS:
            path = f"{kind}/{change.name}.sql"
            assert path in hashes, f"{path} is released: add its hash to migrations/released.sha256"
            actual = hashlib.sha256((TOP / path).read_bytes()).hexdigest()
            assert actual == hashes[path], (
                f"migrations/{path} changed after its release tag: restore it and put the new "
                "definition into a new change at the end of the plan"
            )
    released = {f"{k}/{c.name}.sql" for c in PLAN.changes[:LAST_TAGGED] for k in KINDS}
    assert set(hashes) <= released, "released.sha256 lists scripts of unreleased changes"


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_released_scripts_and_their_hashes_match_the_tag_commit() -> None:
    """With history (a full clone), the scripts and released.sha256 are compared with the
    commit that added each tag, so an edit cannot hide by updating the hash file too. A
    shallow clone or an unpacked sdist has no such commit: the hash file stands alone there."""
    if git("rev-parse", "--is-shallow-repository").stdout.strip() != "false":
        print("no full git history: released.sha256 alone is checked", file=sys.stderr)
        return
    for i, change in enumerate(PLAN.changes[:LAST_TAGGED]):
        for tag in change.tags:
            found = git("log", "--format=%H", "-S", f"{tag} ", "--", "migrations/sqitch.plan")
            commits = found.stdout.split()
            assert commits, f"no commit adds tag {tag} to migrations/sqitch.plan"
            tag_commit = commits[-1]
            for released in PLAN.changes[: i + 1]:
                for kind in KINDS:
                    path = f"migrations/{kind}/{released.name}.sql"
                    then = git("show", f"{tag_commit}:{path}")
                    assert then.returncode == 0, f"{path} is missing at the commit of {tag}"
                    assert (ROOT / path).read_text() == then.stdout, (
                        f"{path} changed since {tag} ({tag_commit[:12]})"
                    )


def unreleased_deploy_scripts() -> list[Path]:
    return [TOP / "deploy" / f"{c.name}.sql" for c in PLAN.changes[LAST_TAGGED:]]


def squawk() -> str:
    exe = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    require(Path(exe).is_file(), "squawk (PyPI squawk-cli, in the test extras)")
    return exe


@pytest.mark.parametrize("script", unreleased_deploy_scripts(), ids=lambda p: p.stem)
def test_unreleased_changes_pass_squawk(script: Path) -> None:
    """Released changes are frozen and not linted; every later deploy script is. A justified
    exception is a `-- squawk-ignore <rule>` line right below a comment saying why."""
    result = subprocess.run(
        [squawk(), "--reporter", "gcc", f"--exclude={SQUAWK_EXCLUDED}", "--pg-version=15.0",
         str(script)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = script.read_text().splitlines()
    for n, line in enumerate(lines):
        if re.match(r"^\s*--\s*squawk-ignore", line):
            why = lines[n - 1].strip() if n else ""
            assert why.startswith("--") and "squawk-ignore" not in why, (
                f"{script.name}:{n + 1}: say why above the squawk-ignore line"
            )
