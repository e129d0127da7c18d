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

.PHONY: help venv dev demo test lint format typecheck validate build pytest unit integration e2e bench clean test-data \
	lock lock-check web web-deps web-check browser browser-tests secrets-check secrets-baseline audit

help:
	@echo "make dev    - run the whole product locally (AWS emulator + local API)"
	@echo "make demo   - the local stack with populated fake GitHub, Jira and Trello, and the dashboard's URL"
	@echo "make web    - rebuild the dashboard (web/) into functions/api/static (commit the result)"
	@echo "make test   - lint, type-check, validate and build the template, run every test"
	@echo "make bench  - run the benchmarks and write docs/benchmarks.md"
	@echo "make lock   - regenerate the layer's locked requirements from pyproject.toml"
	@echo "make audit  - pip-audit the locked requirements and the dev environment (needs a vulnerability service)"

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

# The local stack with the repository's fake providers seeded with months of activity, one integration of
# each kind synced, a webhook now and then; prints the dashboard's URL and the team token. Ctrl-C stops it all.
demo: $(STAMP)
	$(BIN)/python -m devstack.demo

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

# npm itself, when missing (Debian's package; only as root where apt-get exists).
NEED_NPM = @command -v npm >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	apt-get update -qq && apt-get install -y -qq npm >/dev/null; } || \
	{ echo "npm is needed to build the dashboard and for its browser tests: install npm"; exit 1; }

# The dashboard (web/): its npm packages at the versions web/package-lock.json pins. Its build output,
# functions/api/static, is committed (so `sam build` and `make dev` need no Node.js); web-check proves it is
# what web/ builds today (docs/architecture.md, "The dashboard").
WEB_DEPS := web/node_modules/.package-lock.json

$(WEB_DEPS): web/package.json web/package-lock.json
	$(NEED_NPM)
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web-deps: $(WEB_DEPS)

web: $(WEB_DEPS)
	cd web && npm run --silent build

web-check: $(WEB_DEPS)
	@rm -rf .local/web-check
	cd web && WEB_OUT_DIR=../.local/web-check npm run --silent build >/dev/null
	@diff -r functions/api/static .local/web-check >/dev/null || \
		{ diff -r functions/api/static .local/web-check | head -20; \
		  echo "functions/api/static is not what web/ builds: run make web and commit it"; exit 1; }

# Debian's Chromium and ChromeDriver for the browser tests (Playwright drives /usr/bin/chromium).
browser:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
		{ echo "the browser tests need Debian's chromium and chromium-driver: apt-get install chromium chromium-driver"; \
		  exit 1; }

pytest: $(STAMP) test-data web-deps browser
	$(BIN)/pytest

unit: $(STAMP) test-data
	$(BIN)/pytest tests/unit

integration: $(STAMP) test-data
	$(BIN)/pytest tests/integration

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

browser-tests: $(STAMP) web-deps browser
	$(BIN)/pytest tests/browser

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

# The secret scan: detect-secrets over every tracked file against the reviewed baseline, .secrets.baseline (every
# allowed finding is a test fixture's fake or not a secret, marked "is_secret": false). A new finding fails.
secrets-check: $(STAMP)
	$(BIN)/python tools/secrets_check.py

# After adding a fixture's fake secret: rescan into the baseline (reviews kept), then mark the new finding
# with `$(BIN)/detect-secrets audit .secrets.baseline` (until then secrets-check fails on it).
secrets-baseline: $(STAMP)
	$(BIN)/detect-secrets scan --baseline .secrets.baseline

# Known vulnerabilities in the locked layer requirements and in the dev environment. Needs a vulnerability
# service (PyPI's per-release JSON API, or OSV with AUDIT_SERVICE=osv): not part of `make test`, see
# docs/security.md ("Supply chain") for why.
AUDIT_SERVICE ?= pypi
audit: $(STAMP)
	$(BIN)/pip-audit -s $(AUDIT_SERVICE) -r $(LOCK) --require-hashes --strict
	@mkdir -p .local && $(BIN)/pip freeze --exclude-editable > .local/dev-requirements.txt
	$(BIN)/pip-audit -s $(AUDIT_SERVICE) -r .local/dev-requirements.txt --no-deps --disable-pip --strict

test: lock-check secrets-check lint typecheck validate web-check build pytest

bench: $(STAMP) browser
	$(BIN)/python -m benchmarks

clean:
	rm -rf .aws-sam .local .pytest_cache .mypy_cache .ruff_cache
