# AgileTrack Integrations: every command a developer or CI needs.
# Only Python 3.11 and make are assumed; everything else is installed into .venv.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export POWERTOOLS_DEV ?= false

.PHONY: help venv dev test lint format typecheck validate build pytest unit integration e2e bench clean

help:
	@echo "make dev    - run the whole product locally (AWS emulator + local API)"
	@echo "make test   - lint, type-check, validate and build the template, run every test"
	@echo "make bench  - run the benchmarks and write docs/benchmarks.md"

$(STAMP): pyproject.toml layers/agiletrack/requirements.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

dev: $(STAMP)
	$(BIN)/python -m devstack

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy layers/agiletrack/agiletrack functions tools/devstack

validate: $(STAMP)
	$(BIN)/sam validate --lint

build: $(STAMP)
	$(BIN)/sam build --parallel --cached

pytest: $(STAMP)
	$(BIN)/pytest

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

test: lint typecheck validate build pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
