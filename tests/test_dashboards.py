"""The generated dashboard JSON: regenerates identically, and is internally consistent.

No database here; tests/test_dashboards_queries.py runs every query against seeded data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dashboards import build
from dashboards.grafana import ALL_VALUE, DATASOURCE, FILTER_COLUMNS, SCHEMA_VERSION, TAG
from tests.support.grafana_sql import VARIABLE_RE, panels, sql_targets

DIRECTORY = Path(build.__file__).resolve().parent


def load() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DIRECTORY.glob("*.json"))}


DASHBOARDS = load()
UIDS = {d["uid"] for d in DASHBOARDS.values()}


def test_regeneration_gives_no_diff() -> None:
    assert build.stale() == [], "run `python -m dashboards.build` and commit the result"
    assert set(DASHBOARDS) == set(build.DASHBOARDS)
    assert build.build() == build.build(), "the generator is not deterministic"


def test_build_check_flags_edits(tmp_path: Path) -> None:
    for name, text in build.build().items():
        (tmp_path / name).write_text(text)
    assert build.stale(tmp_path) == []
    (tmp_path / "burn-rate.json").write_text("{}")
    (tmp_path / "stray.json").write_text("{}")
    assert build.stale(tmp_path) == ["burn-rate.json", "stray.json"]


def test_home_dashboard_file_exists() -> None:
    assert "org-overview.json" in DASHBOARDS  # deploy/ sets it as Grafana's home dashboard
    assert DASHBOARDS["org-overview.json"]["uid"] == "agent-spend-overview"


def test_uids_titles_and_metadata() -> None:
    assert len(UIDS) == len(DASHBOARDS) == 8
    assert len({d["title"] for d in DASHBOARDS.values()}) == 8
    for dashboard in DASHBOARDS.values():
        assert dashboard["uid"].startswith("agent-spend-") and len(dashboard["uid"]) <= 40
        assert dashboard["schemaVersion"] >= SCHEMA_VERSION >= 39
        assert TAG in dashboard["tags"]
        assert dashboard["time"]["to"] == "now"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_panel_and_target_uses_the_provisioned_datasource(name: str) -> None:
    dashboard = DASHBOARDS[name]
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids))
    for panel in panels(dashboard):
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        assert panel["fieldConfig"]["defaults"]["noValue"] == "No data"
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24
    for panel, target in sql_targets(dashboard):
        assert target["datasource"] == DATASOURCE, panel["title"]
        assert target["rawQuery"] and target["editorMode"] == "code"
        assert target["format"] == ("time_series" if panel["type"] == "timeseries" else "table")
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_filter_variables(name: str) -> None:
    dashboard = DASHBOARDS[name]
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert set(FILTER_COLUMNS) <= set(variables)
    for var_name in FILTER_COLUMNS:
        variable = variables[var_name]
        assert variable["type"] == "query" and variable["refresh"] == 2
        assert f"dimension = '{var_name}'" in variable["query"]
        if name == "developer.json" and var_name == "user":
            assert not variable["multi"] and not variable["includeAll"]  # one developer at a time
            continue
        assert variable["multi"] and variable["includeAll"] and variable["allValue"] == ALL_VALUE


def referenced_variables(text: str) -> set[str]:
    names = {m.group(1) or m.group(2) or m.group(4) for m in VARIABLE_RE.finditer(text)}
    return {n for n in names if not n.startswith("__")}  # macros and Grafana's built-ins


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_variables_referenced_exist(name: str) -> None:
    dashboard = DASHBOARDS[name]
    defined = {v["name"] for v in dashboard["templating"]["list"]}
    texts = [t["rawSql"] for _, t in sql_targets(dashboard)]
    texts += [p["title"] for p in panels(dashboard)]
    texts += [v.get("query", "") for v in dashboard["templating"]["list"]]
    for text in texts:
        assert referenced_variables(text) <= defined, text
    # A filter must be quoted whatever the variable's multi/all settings: only the sqlstring form.
    for text in texts:
        for var_name in FILTER_COLUMNS:
            assert not re.search(rf"\${var_name}\b|\$\{{{var_name}\}}", text), text


def links_of(dashboard: dict[str, Any]) -> list[str]:
    urls = [link.get("url", "") for link in dashboard["links"]]
    for panel in panels(dashboard):
        for override in panel["fieldConfig"]["overrides"]:
            for prop in override["properties"]:
                if prop["id"] == "links":
                    urls += [link["url"] for link in prop["value"]]
    return [u for u in urls if u]


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_links_resolve_to_existing_dashboards(name: str) -> None:
    dashboard = DASHBOARDS[name]
    urls = links_of(dashboard)
    assert urls, "every dashboard links to the others"
    for url in urls:
        match = re.match(r"/d/([\w-]+)", url)
        assert match and match.group(1) in UIDS, url
        assert referenced_variables(url) <= {v["name"] for v in dashboard["templating"]["list"]}
    for link in dashboard["links"]:
        if link["type"] == "dashboards":
            assert any(set(link["tags"]) <= set(d["tags"]) for d in DASHBOARDS.values())


def test_drilldowns_exist() -> None:
    """Top spenders link to the Developer dashboard, sessions to their calls."""
    overview = links_of(DASHBOARDS["org-overview.json"])
    assert any("/d/agent-spend-developer/" in u and "var-user=" in u for u in overview)
    for name in ("by-team.json", "burn-rate.json"):
        assert any("var-user=" in u for u in links_of(DASHBOARDS[name])), name
    developer = links_of(DASHBOARDS["developer.json"])
    assert any("var-session=" in u for u in developer)
    calls = [
        t["rawSql"]
        for _, t in sql_targets(DASHBOARDS["developer.json"])
        if "${session:sqlstring}" in t["rawSql"]
    ]
    assert calls, "a panel lists the calls of the selected session"


def test_data_quality_links_to_reconciliation() -> None:
    links = [link["url"] for link in DASHBOARDS["data-quality.json"]["links"]]
    assert "/d/agent-spend-reconciliation/reconciliation" in links
    assert DASHBOARDS["reconciliation.json"]["uid"] == "agent-spend-reconciliation"


def test_units() -> None:
    for dashboard in DASHBOARDS.values():
        for panel in panels(dashboard):
            defaults = panel["fieldConfig"]["defaults"]
            if panel["type"] in ("stat", "timeseries", "piechart", "bargauge"):
                assert defaults.get("unit") in ("currencyUSD", "short", "percentunit"), panel["title"]
            if defaults.get("unit") == "currencyUSD":
                assert defaults.get("decimals") in (2, 3), panel["title"]
