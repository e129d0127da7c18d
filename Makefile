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

.PHONY: help venv dev test lint format typecheck validate build pytest unit integration e2e bench clean test-data \
	lock lock-check

help:
	@echo "make dev    - run the whole product locally (AWS emulator + local API)"
	@echo "make test   - lint, type-check, validate and build the template, run every test"
	@echo "make bench  - run the benchmarks and write docs/benchmarks.md"
	@echo "make lock   - regenerate the layer's locked requirements from pyproject.toml"

# The layer ships exactly these versions (boto3 and botocore included): a lock with hashes, generated from
# pyproject.toml's runtime dependencies by `make lock`. The venv is held to the same pins, so the tests run
# against what is deployed.
LOCK := layers/agiletrack/requirements.txt
LOCK_PINS := .local/layer-pins.txt
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
	--strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host

$(STAMP): pyproject.toml $(LOCK)
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is required"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@mkdir -p $(dir $(LOCK_PINS))
	grep -E '^[A-Za-z0-9_.-]+==' $(LOCK) | sed 's/ *\\$$//' > $(LOCK_PINS)
	$(BIN)/python -m pip install --quiet -e '.[dev]' -c $(LOCK_PINS)
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

# GitHub's published GraphQL schema, to check our queries against. Fetched by package name from the npm
# registry at a pinned version (it is public test data, not ours to commit).
GITHUB_SCHEMA_VERSION := 15.26.1
GITHUB_SCHEMA := tests/data/github/schema.graphql

$(GITHUB_SCHEMA):
	@command -v npm >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		apt-get update -qq && apt-get install -y -qq npm >/dev/null; } || \
		{ echo "npm is needed once to fetch GitHub's GraphQL schema: install npm"; exit 1; }
	@mkdir -p $(dir $@) .local/npm
	cd .local/npm && npm pack --silent @octokit/graphql-schema@$(GITHUB_SCHEMA_VERSION) >/dev/null
	tar -xzf .local/npm/octokit-graphql-schema-$(GITHUB_SCHEMA_VERSION).tgz -C .local/npm package/schema.graphql
	mv .local/npm/package/schema.graphql $@

test-data: $(GITHUB_SCHEMA)

pytest: $(STAMP) test-data
	$(BIN)/pytest

unit: $(STAMP) test-data
	$(BIN)/pytest tests/unit

integration: $(STAMP) test-data
	$(BIN)/pytest tests/integration

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

# Regenerate the lock from pyproject.toml (kept pins stay unless pyproject's ranges exclude them;
# `make lock UPGRADE=1` moves every pin to the newest allowed release). Resolving needs PyPI.
lock: $(STAMP)
	$(PIP_COMPILE) $(if $(UPGRADE),--upgrade) --output-file $(LOCK) pyproject.toml

# Fails when the lock and pyproject.toml's runtime dependencies disagree: regenerate into a temporary copy
# and compare.
lock-check: $(STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && cp $(LOCK) "$$tmp/requirements.txt" && \
	$(PIP_COMPILE) --output-file "$$tmp/requirements.txt" pyproject.toml && \
	if ! diff -u $(LOCK) "$$tmp/requirements.txt"; then \
		echo "$(LOCK) does not match pyproject.toml: run make lock and commit it"; exit 1; fi

test: lock-check lint typecheck validate build pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
