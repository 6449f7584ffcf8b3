# Local infrastructure targets; included from the top-level Makefile (include infra/infra.mk).
#   make infra-up [INFRA_PARTS="kafka postgres redis kube"]   start (idempotent), write .local/infra.env
#   make infra-down                                          stop everything, leave no process
#   make infra-status                                        one line per process
# Ports: KAFKA_PORT PG_PORT REDIS_PORT KUBE_APISERVER_PORT ETCD_CLIENT_PORT ETCD_PEER_PORT (env).
INFRA_PARTS ?= kafka postgres redis kube
INFRA_SH := $(CURDIR)/infra/infra.sh
WITH_INFRA := $(CURDIR)/infra/with-infra.sh

.PHONY: infra-up infra-down infra-status infra-env infra-test
infra-up: ## start Kafka, PostgreSQL, Redis, kube control plane (INFRA_PARTS=...); writes .local/infra.env
	@"$(INFRA_SH)" up $(INFRA_PARTS)

infra-down: ## stop the local infrastructure (INFRA_PARTS=..., default all)
	@"$(INFRA_SH)" down $(INFRA_PARTS)

infra-status: ## one line per local infrastructure process
	@"$(INFRA_SH)" status $(INFRA_PARTS)

infra-env: ## print the environment of the running parts
	@"$(INFRA_SH)" env

# The infrastructure's own integration tests (needs Node 24 as $(NODE) and node_modules).
NODE ?= node
infra-test: deps ## integration tests of the local infrastructure itself
	@INFRA_PARTS="$(INFRA_PARTS)" "$(WITH_INFRA)" $(NODE) --test 'tests/integration/infra/**/*.test.ts'
