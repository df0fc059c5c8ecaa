"""Grafana alerting provisioning (deploy/grafana/provisioning/alerting, docs/alerts.md): the
rules file follows the provisioning schema with one rule per kind, the contact point and
policy take their settings from the environment (compose, Makefile, lab), and every rule's
query runs as agent_spend_reader."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import psycopg
import yaml

from bridge import config
from tests.support.alerts import store_unpriced
from tests.support.paths import ROOT

ALERTING = ROOT / "deploy/grafana/provisioning/alerting"


# -- Grafana provisioning ---------------------------------------------------------------------

KIND_VIEWS = {
    "runaway_session": "alert_runaway_sessions_now",
    "anomaly": "alert_anomalies_now",
    "silent_telemetry": "alert_silent_telemetry_now",
    "unpriced_model": "alert_unpriced_models_now",
    "reconcile_coverage": "alert_reconcile_coverage_now",
    "budget_threshold": "alert_budget_thresholds_now",
    "budget_projected": "alert_budget_projected_now",
}


def _yaml(name: str) -> dict[str, Any]:
    document = yaml.safe_load((ALERTING / name).read_text())
    assert isinstance(document, dict) and document["apiVersion"] == 1
    return document


def test_grafana_rules_follow_the_provisioning_schema_one_per_kind() -> None:
    (group,) = _yaml("agent-spend-alerts.yaml")["groups"]
    assert (
        group["orgId"] == 1
        and group["name"]
        and group["folder"]
        and re.fullmatch(r"\d+[smh]", group["interval"])
    )
    kinds = {}
    for rule in group["rules"]:
        assert {
            "uid",
            "title",
            "condition",
            "data",
            "noDataState",
            "execErrState",
            "for",
            "annotations",
            "labels",
        } <= set(rule)
        assert rule["noDataState"] == "OK" and rule["execErrState"] in ("Error", "Alerting", "OK")
        refs = {d["refId"]: d for d in rule["data"]}
        assert rule["condition"] in refs
        query = refs["A"]
        assert query["datasourceUid"] == "agent-spend-pg"
        assert set(query["relativeTimeRange"]) == {"from", "to"}
        assert query["model"]["format"] == "table" and query["model"]["refId"] == "A"
        condition = refs[rule["condition"]]
        assert condition["datasourceUid"] == "__expr__" and condition["model"]["expression"] == "A"
        kinds[rule["labels"]["alert_kind"]] = query["model"]["rawSql"]
        assert "$" not in str(rule["labels"])  # labels are env-interpolated by provisioning
    assert set(kinds) == set(KIND_VIEWS)
    for kind, sql in kinds.items():
        assert sql.endswith(f"FROM {KIND_VIEWS[kind]}")
    assert len({r["uid"] for r in group["rules"]}) == len(group["rules"])


def test_grafana_contact_point_and_policy_come_from_the_environment() -> None:
    (point,) = _yaml("contact-points.yaml")["contactPoints"]
    types = {r["type"]: r["settings"] for r in point["receivers"]}
    assert set(types) == {"webhook", "slack", "email"}
    needed = set(re.findall(r"\$\{(\w+)\}", (ALERTING / "contact-points.yaml").read_text()))
    assert needed == set(config.ALERT_GRAFANA_DEFAULTS)
    (policy,) = _yaml("notification-policies.yaml")["policies"]
    assert policy["receiver"] == point["name"]
    compose = yaml.safe_load((ROOT / "deploy/docker-compose/compose.yml").read_text())
    environment = compose["services"]["grafana"]["environment"]
    for name, default in config.ALERT_GRAFANA_DEFAULTS.items():
        assert environment[name] == f"${{{name}:-{default}}}"
        assert f"{name}=$${{{name}:-{default}}}" in (ROOT / "Makefile").read_text()
    assert "ALERT_GRAFANA_DEFAULTS" in (ROOT / "bridge/lab/lab.py").read_text()


def _database_now(database_url: str) -> datetime:
    """The database server's clock: what Grafana's rules (views over now()) are evaluated at."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    value: datetime = row[0]
    return value


def test_every_grafana_rule_query_runs_as_the_reader(database_url: str) -> None:
    store_unpriced(database_url, "m-grafana", at=_database_now(database_url))
    (group,) = _yaml("agent-spend-alerts.yaml")["groups"]
    with psycopg.connect(database_url) as conn:
        conn.execute("SET ROLE agent_spend_reader")
        for rule in group["rules"]:
            sql = rule["data"][0]["model"]["rawSql"]
            columns_rows = conn.execute(sql)
            names = [c.name for c in columns_rows.description or []]
            assert names == ["kind", "subject", "period_key", "severity", "firing"], rule["uid"]
            rows = columns_rows.fetchall()
            if rule["labels"]["alert_kind"] == "unpriced_model":
                assert ("unpriced_model", "anthropic/m-grafana", "ever", "warning", 1) in rows
