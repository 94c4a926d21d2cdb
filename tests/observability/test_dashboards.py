"""docs/grafana/hookline.json is what docs/grafana/dashboards.py generates (grafana-foundation-sdk)."""

from __future__ import annotations

import json
import runpy

from tests.helpers import ROOT

GRAFANA = ROOT / "docs" / "grafana"


def test_the_committed_dashboard_is_the_generated_one() -> None:
    generated = runpy.run_path(str(GRAFANA / "dashboards.py"))["render"]()
    committed = (GRAFANA / "hookline.json").read_text()
    assert generated == committed, (
        "docs/grafana/hookline.json is stale: python docs/grafana/dashboards.py > docs/grafana/hookline.json"
    )


def test_every_panel_queries_prometheus_through_the_datasource_variable() -> None:
    board = json.loads((GRAFANA / "hookline.json").read_text())
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert len(panels) >= 20
    for panel in panels:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert target["expr"].count("(") == target["expr"].count(")")
