"""The compose stack and Grafana provisioning cannot start here; validate them instead."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.support.paths import ROOT

COMPOSE = ROOT / "deploy/docker-compose/compose.yml"
PROVISIONING = ROOT / "deploy/grafana/provisioning"
DATASOURCE_UID = "agent-spend-pg"


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path} is not a YAML mapping"
    return document


def _compose() -> dict[str, Any]:
    return _load(COMPOSE)


def test_compose_services_and_pinned_images() -> None:
    services = _compose()["services"]
    default = {name for name, s in services.items() if not s.get("profiles")}
    assert default == {"postgres", "bridge", "grafana"}
    # `docker compose --profile gateway up`: a Collector in front of more bridges (test_gateway_config.py).
    assert set(services) - default == {"bridge-pool", "gateway"}
    for name, service in services.items():
        image = service.get("image", "")
        if "build" in service:
            assert (COMPOSE.parent / service["build"]["context"] / service["build"]["dockerfile"]).is_file()
            continue
        assert re.fullmatch(r"[\w./-]+:\d+(\.\d+)+(-\w+)?", image), f"{name}: image {image!r} is not pinned"
    assert services["postgres"]["image"].startswith("postgres:18")
    assert services["grafana"]["image"].startswith("grafana/grafana:12")


def test_compose_ports_are_loopback_and_documented() -> None:
    services = _compose()["services"]
    published = {p.split(":")[1]: name for name, s in services.items() for p in s.get("ports", [])}
    assert published == {
        "5432": "postgres",
        "4317": "bridge",
        "4318": "bridge",
        "3000": "grafana",
        "14317": "gateway",
        "14318": "gateway",
    }
    assert "ports" not in services["bridge-pool"], "the pool is reached through the gateway only"
    for service in services.values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), "the lab must not listen on all interfaces"
    header = COMPOSE.read_text().split("name:")[0]
    for port in published:
        assert port in header, f"port {port} not documented in the compose header"


def test_compose_volumes_exist_and_match_provisioning() -> None:
    compose = _compose()
    grafana = compose["services"]["grafana"]
    mounts = {}
    for volume in grafana["volumes"]:
        source, target, *_ = volume.split(":")
        mounts[target] = source
        if source.startswith("."):
            assert (COMPOSE.parent / source).resolve().is_dir(), f"{source} does not exist"
        else:
            assert source in compose["volumes"], f"named volume {source} not declared"
    assert mounts["/etc/grafana/provisioning"] == "../grafana/provisioning"
    dashboards_target = grafana["environment"]["AGENT_SPEND_DASHBOARDS_DIR"]
    assert (COMPOSE.parent / mounts[dashboards_target]).resolve() == ROOT / "dashboards"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(dashboards_target + "/")


def _env_refs(text: str) -> set[str]:
    return set(re.findall(r"\$\{(\w+)\}", text))


def test_provisioning_files_and_environment_are_consistent() -> None:
    datasource_file = PROVISIONING / "datasources/agent-spend.yaml"
    datasources = _load(datasource_file)["datasources"]
    assert [d["uid"] for d in datasources] == [DATASOURCE_UID]
    (datasource,) = datasources
    assert datasource["type"] == "grafana-postgresql-datasource"
    assert datasource["user"] == "grafana"
    providers = _load(PROVISIONING / "dashboards/agent-spend.yaml")["providers"]
    assert len(providers) == 1 and providers[0]["type"] == "file" and providers[0]["folder"]

    grafana_env = _compose()["services"]["grafana"]["environment"]
    needed = _env_refs(datasource_file.read_text()) | _env_refs(
        (PROVISIONING / "dashboards/agent-spend.yaml").read_text()
    )
    assert needed <= set(grafana_env), f"compose does not set {needed - set(grafana_env)}"
    # The local (no-Docker) lab must set the same variables for a local grafana-server.
    lab_source = (ROOT / "bridge/lab/lab.py").read_text()
    for name in needed:
        assert f'"{name}"' in lab_source, f"bridge/lab/lab.py does not set {name} for a local Grafana"


def test_bridge_service_migrates_and_creates_the_reader_login() -> None:
    bridge = _compose()["services"]["bridge"]
    command = " ".join(bridge["command"])
    assert command.index("agent-spend migrate") < command.index("agent-spend serve")
    assert "reader-role --login grafana" in command
    password_var = "GRAFANA_DB_PASSWORD"
    assert password_var in bridge["environment"]
    assert (
        _compose()["services"]["grafana"]["environment"][password_var] == bridge["environment"][password_var]
    )
    assert bridge["depends_on"]["postgres"]["condition"] == "service_healthy"
    db_url = bridge["environment"]["AGENT_SPEND_DATABASE_URL"]
    assert "@postgres:5432/agent_spend" in db_url


def test_dockerfile_copies_what_the_package_needs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for path in ("pyproject.toml", "README.md", "bridge", "seeder", "schema"):
        assert re.search(rf"^COPY .*\b{re.escape(path)}\b", dockerfile, re.M), (
            f"Dockerfile does not copy {path}"
        )
        assert (ROOT / path).exists()
    assert re.search(r"^FROM python:3\.\d+-slim$", dockerfile, re.M)
    assert "EXPOSE 4317 4318" in dockerfile and "/readyz" in dockerfile


def test_wheel_ships_the_migrations() -> None:
    """A non-editable install (the Docker image) must find schema/ inside the package."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"schema" = "bridge/_schema"' in pyproject
    assert "_schema" in (ROOT / "bridge/store/migrate.py").read_text()
