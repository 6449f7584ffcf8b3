# A real single-node cluster and the end-to-end test (included from the top-level Makefile).
#   make cluster-up      control plane + containerd + kubelet + kube-proxy + CoreDNS + metrics-server; node Ready
#   make cluster-down    stop the node (pods, kubelet, containerd, kube-proxy, CoreDNS, metrics-server, pod network)
#   make cluster-status  one line per process
#   make e2e             build the image, cluster-up (imports it), then tests/e2e (helm install and helm test, feed,
#                        client pods through Services by DNS, scale, faults, helm upgrade, restart and pause
#                        annotations, HPA floors from lag, Dhan token rotation, HPA); afterwards, pass or fail,
#                        stops the cluster and the data services it started
CLUSTER_SH := $(CURDIR)/infra/cluster/cluster.sh

.PHONY: cluster-up cluster-down cluster-status e2e

cluster-up: ## a real single-node Kubernetes cluster (containerd, kubelet, kube-proxy, CoreDNS, metrics-server)
	@"$(CLUSTER_SH)" up

cluster-down: ## stop the node; the control plane and data services stay (make infra-down)
	@"$(CLUSTER_SH)" down

cluster-status: ## containerd, kubelet, kube-proxy, CoreDNS, metrics-server and the node
	@"$(CLUSTER_SH)" status

# `image` comes from image/image.mk (the OCI archive cluster-up imports into containerd).
e2e: deps image ## end to end on the local cluster: operator chart, MarketFeed, scale, faults, day-2 controls, HPA (cleans up after)
	@"$(CURDIR)/infra/cluster/e2e.sh" "$(NODE)" 'tests/e2e/**/*.test.ts'
