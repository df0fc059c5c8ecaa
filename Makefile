# agent-spend: `make lab` sets everything up and starts it; `make seed` fills it; `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
COMPOSE := docker compose -f deploy/docker-compose/compose.yml
# A reachable Docker engine means the containerised lab; otherwise embedded PostgreSQL.
DOCKER_ENGINE := $(shell docker info >/dev/null 2>&1 && echo yes)
GRAFANA_IMAGE := grafana/grafana:12.2.1

.PHONY: help lab seed psql down clean test lint dashboards bench grafana venv

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

$(BIN)/agent-spend: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
	@touch $@

venv: $(BIN)/agent-spend ## Create .venv and install the project with lab and test extras

lab: $(BIN)/agent-spend ## Start PostgreSQL, migrations, the bridge (and Grafana) and print the endpoints
ifeq ($(DOCKER_ENGINE),yes)
	$(COMPOSE) up -d --build --wait
	@echo "agent-spend lab is up (docker compose)"
	@echo "  OTLP gRPC      http://127.0.0.1:4317"
	@echo "  OTLP HTTP      http://127.0.0.1:4318"
	@echo "  Grafana        http://127.0.0.1:3000  (anonymous viewer; admin/admin)"
	@echo "  PostgreSQL     postgresql://agent_spend:agent_spend@127.0.0.1:5432/agent_spend"
else
	$(BIN)/agent-spend lab up
endif
	@echo "Next: make seed   (synthetic week of agent traffic), then open the dashboards."

seed: $(BIN)/agent-spend ## Send a synthetic week of agent telemetry to the running lab
	$(BIN)/agent-spend seed --endpoint http://127.0.0.1:4317 --protocol grpc

psql: ## Open psql on the lab database
ifeq ($(DOCKER_ENGINE),yes)
	$(COMPOSE) exec postgres psql -U agent_spend agent_spend
else
	@command -v psql >/dev/null || { echo "psql not found: install the PostgreSQL client (e.g. apt-get install postgresql-client)"; exit 1; }
	psql "$$($(BIN)/agent-spend lab database-url)"
endif

down: ## Stop the lab, keeping its data
ifeq ($(DOCKER_ENGINE),yes)
	$(COMPOSE) down
else
	@test -x $(BIN)/agent-spend && $(BIN)/agent-spend lab down || true
endif

clean: ## Stop the lab and delete its data
ifeq ($(DOCKER_ENGINE),yes)
	$(COMPOSE) down --volumes
else
	@test -x $(BIN)/agent-spend && $(BIN)/agent-spend lab clean || rm -rf .lab
endif

grafana: ## Grafana in a container next to the embedded lab (needs Docker, host networking)
	docker run -d --name agent-spend-grafana --network host \
	  -e GF_AUTH_ANONYMOUS_ENABLED=true -e GF_AUTH_ANONYMOUS_ORG_ROLE=Viewer \
	  -e AGENT_SPEND_PG_HOST=127.0.0.1:55432 -e AGENT_SPEND_PG_DATABASE=agent_spend \
	  -e AGENT_SPEND_DASHBOARDS_DIR=/var/lib/grafana/dashboards/agent-spend -e GRAFANA_DB_PASSWORD=grafana \
	  -v $(CURDIR)/deploy/grafana/provisioning:/etc/grafana/provisioning:ro \
	  -v $(CURDIR)/dashboards:/var/lib/grafana/dashboards/agent-spend:ro $(GRAFANA_IMAGE)
	@echo "Grafana: http://127.0.0.1:3000"

test: $(BIN)/agent-spend ## Run lint and the test suite against a real PostgreSQL
	$(BIN)/ruff check bridge seeder tests bench dashboards
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(BIN)/agent-spend ## ruff check + format check
	$(BIN)/ruff check bridge seeder tests bench dashboards
	$(BIN)/ruff format --check bridge seeder tests bench dashboards

dashboards: $(BIN)/agent-spend ## Regenerate dashboards/*.json from dashboards/build.py
	$(BIN)/python dashboards/build.py

bench: $(BIN)/agent-spend ## Time every dashboard query on synthetic data (raw vs rollups)
	$(BIN)/python bench/bench_dashboards.py
