"""The OpenTelemetry Collector gateway (deploy/otel-collector/gateway.yaml) cannot run here (no
collector binary); validate its structure and its agreement with the compose profile instead."""

from __future__ import annotations

from typing import Any

import yaml

from bridge import config
from tests.support.paths import ROOT

GATEWAY = ROOT / "deploy/otel-collector/gateway.yaml"
COMPOSE = ROOT / "deploy/docker-compose/compose.yml"
# What the loadbalancing exporter accepts per signal (contrib README: traceID for spans and
# logs, resource for logs and metrics, service and attributes for all).
ROUTING_KEYS = {
    "traces": {"traceID", "service", "attributes"},
    "logs": {"traceID", "service", "resource", "attributes"},
}


def _load(path: Any) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


def _kind(component: str) -> str:
    return component.split("/", 1)[0]


def test_pipelines_reference_defined_components_in_order() -> None:
    gateway = _load(GATEWAY)
    pipelines = gateway["service"]["pipelines"]
    assert set(pipelines) == {"traces", "logs"}, "the bridge stores traces and logs (metrics are dropped)"
    for signal, pipeline in pipelines.items():
        for section in ("receivers", "processors", "exporters"):
            for name in pipeline[section]:
                assert name in gateway[section], f"{signal}: {section[:-1]} {name} is not defined"
        processors = pipeline["processors"]
        assert _kind(processors[0]) == "memory_limiter", f"{signal}: memory_limiter must come first"
        assert _kind(processors[-1]) == "batch", f"{signal}: batch must come last"
        assert [_kind(e) for e in pipeline["exporters"]] == ["loadbalancing"]
    for extension in gateway["service"].get("extensions", []):
        assert extension in gateway["extensions"]
    used = {
        n
        for p in pipelines.values()
        for section in ("receivers", "processors", "exporters")
        for n in p[section]
    }
    defined = {n for section in ("receivers", "processors", "exporters") for n in gateway[section]}
    assert defined == used, f"defined but unused: {defined - used}"


def test_memory_limiter_and_batch_are_configured() -> None:
    processors = _load(GATEWAY)["processors"]
    limiter = processors["memory_limiter"]
    assert limiter["check_interval"]
    assert 0 < limiter["spike_limit_percentage"] < limiter["limit_percentage"] <= 90
    batch = processors["batch"]
    assert 0 < batch["send_batch_size"] <= batch["send_batch_max_size"]
    # A batch the bridge commits in one chunk (larger exports are split, not refused).
    assert batch["send_batch_max_size"] <= config.INGEST_CHUNK_RECORDS


def test_loadbalancing_exporters_route_by_a_key_valid_for_their_signal() -> None:
    gateway = _load(GATEWAY)
    for signal, pipeline in gateway["service"]["pipelines"].items():
        (name,) = pipeline["exporters"]
        exporter = gateway["exporters"][name]
        assert exporter["routing_key"] in ROUTING_KEYS[signal], f"{name}: {exporter['routing_key']}"
        otlp = exporter["protocol"]["otlp"]
        assert "endpoint" not in otlp, "the resolver sets each bridge's endpoint"
        assert otlp["retry_on_failure"]["enabled"], "a bridge's 503 / UNAVAILABLE must be retried"
        assert otlp["timeout"]
        (kind,) = exporter["resolver"]
        assert kind in ("static", "dns", "k8s")
    logs = gateway["exporters"]["loadbalancing/logs"]
    traces = gateway["exporters"]["loadbalancing/traces"]
    assert traces["routing_key"] == "traceID", "a trace's spans reach one bridge"
    assert logs["routing_key"] == "resource", "one emitter's events reach one bridge"


def test_gateway_and_compose_profile_agree() -> None:
    gateway = _load(GATEWAY)
    services = _load(COMPOSE)["services"]
    pool, collector = services["bridge-pool"], services["gateway"]
    assert pool["profiles"] == collector["profiles"] == ["gateway"]
    assert pool["deploy"]["replicas"] >= 2
    # The exporters resolve the bridge replicas by the compose service name, on the bridge's gRPC port.
    command = " ".join(pool["command"])
    assert "agent-spend migrate" in command and "--grpc-port 4317" in command
    for exporter in gateway["exporters"].values():
        resolver = exporter["resolver"]
        if "dns" in resolver:
            assert resolver["dns"]["hostname"] == "bridge-pool"
            assert resolver["dns"]["port"] == config.GRPC_PORT
        else:
            for hostname in resolver["static"]["hostnames"]:
                assert hostname.endswith(f":{config.GRPC_PORT}")
    # The collector's config file is the one mounted, and its receivers are the ports published.
    (mount,) = collector["volumes"]
    source, target, *_ = mount.split(":")
    assert (COMPOSE.parent / source).resolve() == GATEWAY
    assert f"--config={target}" in collector["command"]
    protocols = gateway["receivers"]["otlp"]["protocols"]
    inside = {int(p["endpoint"].rsplit(":", 1)[1]) for p in protocols.values()}
    published = {int(p.rsplit(":", 1)[1]) for p in collector["ports"]}
    assert inside == published == {config.GRPC_PORT, config.HTTP_PORT}
    assert all(p.startswith("127.0.0.1:") for p in collector["ports"])
    image = collector["image"]
    assert image.startswith("otel/opentelemetry-collector-contrib:"), "loadbalancing is a contrib exporter"
    assert protocols["grpc"]["max_recv_msg_size_mib"] == config.MAX_BODY_MIB
