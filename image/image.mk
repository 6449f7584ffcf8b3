# Container image, Helm chart and plain manifests (included from the top-level Makefile).
#   make image        OCI archive of the one stockify image at .local/image/stockify.oci.tar
#   make image-import import that archive into a containerd (CONTAINERD_ADDRESS, namespace k8s.io)
#   make chart-crds   copy crds/ into the chart and k8s/base (tests fail when they drift)
#   make k8s-base     regenerate k8s/base from the chart
#   make chart-lint   helm lint --strict, kustomize render
#   make chart-test   chart and image tests (unit, then against the local control plane)

IMAGE_NAME ?= docker.io/stockify/stockify
IMAGE_TAG ?= $(shell sed -n 's/^version: *//p' charts/stockify-operator/Chart.yaml)
IMAGE_OUT ?= $(CURDIR)/.local/image/stockify.oci.tar
CONTAINERD_ADDRESS ?= /run/containerd/containerd.sock
IMAGE_HELM_VERSION := $(shell sed -n 's/^HELM_VERSION=//p' infra/versions.env)
IMAGE_KUBE_VERSION := $(shell sed -n 's/^KUBE_VERSION=//p' infra/versions.env)
HELM ?= $(STOCKIFY_CACHE)/helm/$(IMAGE_HELM_VERSION)/bin/helm
KUBECTL ?= $(STOCKIFY_CACHE)/kube/$(IMAGE_KUBE_VERSION)/bin/kubectl
CHART := charts/stockify-operator

.PHONY: image image-import chart-crds k8s-base chart-lint chart-test

image: deps ## the stockify OCI image, built without a daemon (.local/image/stockify.oci.tar)
	@NODE_BIN="$(NODE)" IMAGE_NAME="$(IMAGE_NAME)" IMAGE_TAG="$(IMAGE_TAG)" IMAGE_OUT="$(IMAGE_OUT)" image/build.sh

image-import: image ## import the image into containerd (ctr -n k8s.io images import)
	@ctr --address "$(CONTAINERD_ADDRESS)" -n k8s.io images import "$(IMAGE_OUT)"

$(HELM):
	@infra/helm/build.sh

chart-crds: ## copy the MarketFeed CRD into the chart and k8s/base
	@cp crds/marketfeeds.stockify.io.yaml $(CHART)/crds/marketfeeds.stockify.io.yaml
	@cp crds/marketfeeds.stockify.io.yaml k8s/base/crd.yaml
	@echo "==> CRD copied into $(CHART)/crds and k8s/base"

k8s-base: deps chart-crds | $(HELM) ## regenerate k8s/base (plain manifests) from the chart
	@HELM="$(HELM)" $(NODE) k8s/base/generate.mjs

$(KUBECTL):
	@infra/kube/build.sh

chart-lint: deps | $(HELM) $(KUBECTL) ## helm lint --strict and kustomize render
	@$(HELM) lint --strict $(CHART)
	@$(HELM) lint --strict $(CHART) --set serviceMonitor.enabled=true,podMonitor.enabled=true,prometheusRule.enabled=true
	@$(KUBECTL) kustomize k8s/base >/dev/null && echo "==> kubectl kustomize k8s/base renders"


chart-test: deps | $(HELM) $(KUBECTL) ## chart and image tests: unit, then helm/kubectl/containerd against real services
	@$(NODE_TEST) 'tests/unit/chart/**/*.test.ts'
	@HELM="$(HELM)" KUBECTL="$(KUBECTL)" infra/with-infra.sh $(NODE_TEST) 'tests/integration/chart/**/*.test.ts'
