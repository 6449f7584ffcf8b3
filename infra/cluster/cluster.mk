# A real single-node cluster and the end-to-end test (included from the top-level Makefile).
#   make cluster-up      control plane + containerd + kubelet + metrics-server; node Ready
#   make cluster-down    stop the node (pods, kubelet, containerd, metrics-server, pod network)
#   make cluster-status  one line per process
#   make e2e             build the image, cluster-up (imports it), then tests/e2e (helm install, feed, scale, faults, HPA)
CLUSTER_SH := $(CURDIR)/infra/cluster/cluster.sh

.PHONY: cluster-up cluster-down cluster-status e2e

cluster-up: ## a real single-node Kubernetes cluster (containerd, kubelet, metrics-server)
	@"$(CLUSTER_SH)" up

cluster-down: ## stop the node; the control plane and data services stay (make infra-down)
	@"$(CLUSTER_SH)" down

cluster-status: ## containerd, kubelet, metrics-server and the node
	@"$(CLUSTER_SH)" status

# `image` comes from image/image.mk (the OCI archive cluster-up imports into containerd).
e2e: deps image ## end to end on the local cluster: operator chart, MarketFeed, scale, faults, HPA
	@"$(CLUSTER_SH)" up
	@set -a && . .local/infra.env && . .local/cluster.env && set +a && \
	  $(NODE) --test --test-reporter=spec --test-concurrency=1 --test-timeout=3600000 'tests/e2e/**/*.test.ts'
