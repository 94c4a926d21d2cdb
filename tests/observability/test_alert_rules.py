"""docs/prometheus/alerts.yml: valid for promtool, every rule unit-tested, every rule linked
to its section of docs/observability.md."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.prometheus import PROMTOOL, require_prometheus

ROOT = Path(__file__).parents[2]
RULES = ROOT / "docs" / "prometheus" / "alerts.yml"
UNIT_TESTS = ROOT / "docs" / "prometheus" / "alerts.test.yml"
ALERTS = re.findall(r"^\s+- alert: (\w+)$", RULES.read_text(), re.MULTILINE)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    require_prometheus()
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_promtool_checks_the_rules() -> None:
    run = promtool("check", "rules", str(RULES))
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"SUCCESS: {len(ALERTS)} rules found" in run.stdout


def test_promtool_unit_tests_pass() -> None:
    run = promtool("test", "rules", str(UNIT_TESTS))
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_rule_fires_in_a_unit_test_and_has_a_runbook_section() -> None:
    tests = UNIT_TESTS.read_text()
    docs = (ROOT / "docs" / "observability.md").read_text()
    assert ALERTS
    for alert in ALERTS:
        firing = rf"alertname: {alert}\n\s+exp_alerts:\n\s+- exp_labels"
        assert re.search(firing, tests), f"{alert} has no firing unit test"
        assert f"runbook_url: docs/observability.md#{alert.lower()}" in RULES.read_text()
        assert re.search(rf"^### {alert}$", docs, re.MULTILINE), f"{alert} not in the docs"
