# The two commands a newcomer needs: `make run` and `make test`. Both set themselves up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install run migrate demo test test-fast browser-deps lint bench clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)  ## Create .venv and install the pinned dependencies

migrate: install  ## Apply database migrations
	$(PY) manage.py migrate --noinput

demo: migrate  ## Load demo data (safe to run twice)
	$(PY) manage.py seed_demo

run: demo  ## Set up and start web + worker + beat + telemetry simulator on http://127.0.0.1:8000 (Ctrl-C stops all)
	@echo ""
	@echo "  CoE Portal: http://$(HOST):$(PORT)/   (Ctrl-C stops web, worker, beat and the telemetry simulator)"
	@echo ""
	@# honcho gives each process its own PORT (web's plus 100 per line): the simulator reads WEB_PORT.
	PATH="$(abspath $(BIN)):$$PATH" PORT=$(PORT) WEB_PORT=$(PORT) HOST=$(HOST) $(BIN)/honcho start -f Procfile.dev

browser-deps:  ## Install Debian's Chromium for the browser tests when it is missing
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

test: install browser-deps  ## Run every test: unit, API, permission matrix, worker, browser
	$(PY) manage.py check --fail-level WARNING
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null
	$(BIN)/ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install  ## Everything but the browser and worker tests
	$(PY) -m pytest -m "not browser and not worker" $(PYTEST_ARGS)

lint: install  ## ruff
	$(BIN)/ruff check .

bench: install  ## Benchmarks; results go to docs/benchmarks.md (telemetry load: DATABASE_URL=postgres://…)
	$(PY) manage.py bench
	$(PY) manage.py bench_ingest
	$(PY) manage.py bench_dashboards

clean:  ## Remove the venv and local data (var/)
	rm -rf $(VENV) var .pytest_cache .ruff_cache
