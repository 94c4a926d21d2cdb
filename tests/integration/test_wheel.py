"""An installed wheel carries migrations/, functions/ and sql/: deploy works outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers import ROOT


def test_the_wheel_deploys_without_the_checkout(tmp_path: Path, empty_db: str) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
         str(tmp_path / "dist"), str(ROOT)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    wheel = next((tmp_path / "dist").glob("hookline-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "hookline/_data/migrations/sqitch.plan" in names
    assert "hookline/_data/functions/index.sql" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("HOOKLINE_DSN", None)
    run = subprocess.run(
        [sys.executable, "-c", "import hookline.paths as p; print(p.data_dir('migrations'))"],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=True,
    )  # fmt: skip
    assert run.stdout.strip() == str(site / "hookline" / "_data" / "migrations")
    deploy = subprocess.run(
        [sys.executable, "-m", "hookline", "db", "deploy", "--dsn", empty_db],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert deploy.returncode == 0, deploy.stderr
    assert "~ function ingest" in deploy.stdout
