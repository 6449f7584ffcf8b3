#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, on top of the local control plane of
# infra/infra.sh: a private containerd (runc, CNI bridge), a kubelet that registers the node
# "$CLUSTER_NODE_NAME", a locally built pause image, kube-proxy (iptables mode) and CoreDNS for
# Services and cluster DNS as in any cluster, and metrics-server for HPAs. No Docker, no registry:
# images are imported into containerd (ctr -n k8s.io images import).
#
# Usage: infra/cluster/cluster.sh up|down|status|env|import <oci archive>...
#   up      start Kafka, PostgreSQL, Redis (shared, infra.sh) and the cluster's own control plane
#           (infra.sh under .local/cluster/control-plane, apiserver on 127.0.0.1:$CLUSTER_APISERVER_PORT),
#           then containerd, the kubelet, kube-proxy, CoreDNS, kube-router (NetworkPolicies) and
#           metrics-server; wait until the node is Ready, cluster DNS answers and policies are
#           enforced; write .local/cluster.env (KUBECONFIG of the cluster and the addresses pods use)
#   down    stop metrics-server, kube-router, CoreDNS, kube-proxy (and remove their rules and
#           ipsets), every pod, the kubelet, containerd and the cluster's control plane; remove the
#           pod network (the shared data services stay)
#   status  one line per process
#   env     print .local/cluster.env (the addresses pods use for Kafka, PostgreSQL and Redis)
#   import  import OCI archives into the cluster's containerd (namespace k8s.io)
#
# Pod network: bridge cni0 10.244.0.0/24, gateway $CLUSTER_GATEWAY on this host. Pods reach the
# host's loopback-only services through DNAT rules on the gateway address (route_localnet):
#   $CLUSTER_GATEWAY:5432 → PostgreSQL, :6379 → Redis, :$KAFKA_POD_PORT → Kafka's pod listener
#   (advertised as $CLUSTER_GATEWAY:$KAFKA_POD_PORT), 10.96.0.1:443 → kube-apiserver (its
#   "kubernetes" Service has no endpoints: the apiserver listens on loopback only).
# Services: kube-proxy in iptables mode (a host process, like the kubelet) turns every other
# ClusterIP into the DNAT to its endpoints. DNS: CoreDNS as a host process on
# $CLUSTER_GATEWAY:$COREDNS_PORT behind Service kube-system/kube-dns ($DNS_SERVICE_IP:53), the
# kubelet's --cluster-dns; pods resolve <svc>.<ns>.svc.cluster.local. A host process rather than a
# pod: no image to build, no CPU request taken from the one node the e2e fills, and it forwards
# other names to the host's own resolver (/etc/resolv.conf), loopback resolvers included. It
# listens on port 53 like a CoreDNS pod, so that an egress rule for DNS (port 53) admits it.
# NetworkPolicies: kube-router as a host process, its network policy controller only (iptables and
# ipsets; kube-proxy stays the service proxy). It filters after kube-proxy's and the DNAT rules
# above, so egress rules see the ports pods actually reach on this host: Kafka $KAFKA_POD_PORT,
# PostgreSQL $PG_PORT, Redis $REDIS_PORT, DNS 53, the API server $CLUSTER_APISERVER_PORT.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

CLUSTER_DIR="$LOCAL/cluster"
CLUSTER_PKI="$CLUSTER_DIR/pki"
# The cluster has its own control plane (infra/kube/part.sh run under another root and ports), so
# that objects others create on the shared development apiserver never land on this node.
CLUSTER_CP_ROOT="$CLUSTER_DIR/control-plane"
CLUSTER_APISERVER_PORT="${CLUSTER_APISERVER_PORT:-26443}"
KUBE_PKI="$CLUSTER_CP_ROOT/.local/kube/pki"
CLUSTER_KUBECONFIG="$CLUSTER_CP_ROOT/.local/kubeconfig"
CLUSTER_NODE_NAME="${CLUSTER_NODE_NAME:-stockify-node}"
CLUSTER_BRIDGE=cni0
CLUSTER_SUBNET=10.244.0.0/24
CLUSTER_GATEWAY=10.244.0.1
KUBERNETES_SERVICE_IP=10.96.0.1
METRICS_SERVICE_IP=10.96.0.20
DNS_SERVICE_IP=10.96.0.10
CLUSTER_DOMAIN=cluster.local
COREDNS_PORT="${COREDNS_PORT:-53}"
COREDNS_READY_PORT="${COREDNS_READY_PORT:-8181}"
KUBE_PROXY_HEALTHZ_PORT="${KUBE_PROXY_HEALTHZ_PORT:-10256}"
KUBE_PROXY_METRICS_PORT="${KUBE_PROXY_METRICS_PORT:-10249}"
KUBE_ROUTER_HEALTH_PORT="${KUBE_ROUTER_HEALTH_PORT:-20244}"
KUBE_SERVICE_CIDR=10.96.0.0/16
METRICS_SERVER_PORT="${METRICS_SERVER_PORT:-4443}"
METRICS_SERVER_VERSION="${METRICS_SERVER_VERSION:-v0.9.0}"
METRICS_SERVER_BIN="$STOCKIFY_CACHE/metrics-server/$METRICS_SERVER_VERSION/bin/metrics-server"
KAFKA_POD_PORT="${KAFKA_POD_PORT:-9094}"
CONTAINERD_SOCK="$RUN_DIR/containerd.sock"
PAUSE_IMAGE=localhost/stockify/pause:1.0
CNI_BIN_DIR=/usr/lib/cni
IPT_CHAIN=STOCKIFY-CLUSTER
KUBECTL="$KUBE_BIN/kubectl --kubeconfig $CLUSTER_KUBECONFIG"

ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# --- prerequisites --------------------------------------------------------------------------------
cluster_prereqs() {
  command -v dpkg-query >/dev/null 2>&1 || die "cluster: needs a Debian-based system (apt) for containerd, runc and the CNI plugins"
  [ "$(id -u)" -eq 0 ] || die "cluster: containerd and the kubelet run as root; run as root"
  apt_install containerd runc containernetworking-plugins iptables ipset gcc libc6-dev umoci
  need_cmd umoci "Debian package umoci"
  [ -x "$CNI_BIN_DIR/bridge" ] || die "cluster: $CNI_BIN_DIR/bridge missing (Debian package containernetworking-plugins)"
}

# --- pod network ----------------------------------------------------------------------------------
network_up() {
  if ! ip link show "$CLUSTER_BRIDGE" >/dev/null 2>&1; then
    ip link add "$CLUSTER_BRIDGE" type bridge
  fi
  ip addr show dev "$CLUSTER_BRIDGE" | grep -q "inet $CLUSTER_GATEWAY/" ||
    ip addr add "$CLUSTER_GATEWAY/24" dev "$CLUSTER_BRIDGE"
  ip link set "$CLUSTER_BRIDGE" up
  # Packets from pods may be DNATed to 127.0.0.1 (the services here listen on loopback only).
  sysctl -qw "net.ipv4.conf.$CLUSTER_BRIDGE.route_localnet=1"
  # The ClusterIPs this script serves must route somewhere for the host's own connections.
  ip route show 10.96.0.0/16 | grep -q . || ip route add 10.96.0.0/16 dev "$CLUSTER_BRIDGE"

  # The apiserver reaches kubelets by node name first (logs, exec, port-forward): resolve ours.
  hosts_entry_down
  printf '%s %s %s\n' "$CLUSTER_GATEWAY" "$CLUSTER_NODE_NAME" "$HOSTS_TAG" >>/etc/hosts

  iptables_rules_down
  iptables -t nat -N "$IPT_CHAIN"
  local r
  # Pod → host services on the gateway address.
  for r in "$PG_PORT:127.0.0.1:$PG_PORT" "$REDIS_PORT:127.0.0.1:$REDIS_PORT" "$KAFKA_POD_PORT:127.0.0.1:$KAFKA_POD_PORT"; do
    iptables -t nat -A "$IPT_CHAIN" -d "$CLUSTER_GATEWAY" -p tcp --dport "${r%%:*}" -j DNAT --to-destination "${r#*:}"
  done
  # The "kubernetes" Service (what in-cluster clients dial) → kube-apiserver on loopback.
  iptables -t nat -A "$IPT_CHAIN" -d "$KUBERNETES_SERVICE_IP" -p tcp --dport 443 -j DNAT --to-destination "127.0.0.1:$CLUSTER_APISERVER_PORT"
  # The metrics-server Service (what the aggregator dials) → metrics-server on the gateway.
  iptables -t nat -A "$IPT_CHAIN" -d "$METRICS_SERVICE_IP" -p tcp --dport 443 -j DNAT --to-destination "$CLUSTER_GATEWAY:$METRICS_SERVER_PORT"
  iptables -t nat -I PREROUTING -j "$IPT_CHAIN"
  iptables -t nat -I OUTPUT -j "$IPT_CHAIN"
  # Connections from pods to loopback carry a loopback source, so pg_hba's 127.0.0.1 rule and
  # Redis' protected mode treat them like local clients.
  iptables -t nat -I INPUT -s "$CLUSTER_SUBNET" -d 127.0.0.1 -j SNAT --to-source 127.0.0.1
}

iptables_rules_down() {
  command -v iptables >/dev/null 2>&1 || return 0
  while iptables -t nat -D PREROUTING -j "$IPT_CHAIN" 2>/dev/null; do :; done
  while iptables -t nat -D OUTPUT -j "$IPT_CHAIN" 2>/dev/null; do :; done
  while iptables -t nat -D INPUT -s "$CLUSTER_SUBNET" -d 127.0.0.1 -j SNAT --to-source 127.0.0.1 2>/dev/null; do :; done
  iptables -t nat -F "$IPT_CHAIN" 2>/dev/null || true
  iptables -t nat -X "$IPT_CHAIN" 2>/dev/null || true
}

HOSTS_TAG="# stockify local cluster node"
hosts_entry_down() {
  if grep -qF "$HOSTS_TAG" /etc/hosts; then
    # In place (not sed -i): /etc/hosts may be a bind mount that cannot be replaced.
    local kept; kept="$(grep -vF "$HOSTS_TAG" /etc/hosts)"
    printf '%s\n' "$kept" >/etc/hosts
  fi
}

network_down() {
  hosts_entry_down
  iptables_rules_down
  ip route del 10.96.0.0/16 dev "$CLUSTER_BRIDGE" 2>/dev/null || true
  ip link del "$CLUSTER_BRIDGE" 2>/dev/null || true
  rm -rf "$CLUSTER_DIR/cni/ipam"
}

write_cni_config() {
  mkdir -p "$CLUSTER_DIR/cni/net.d" "$CLUSTER_DIR/cni/ipam"
  cat >"$CLUSTER_DIR/cni/net.d/10-stockify.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "stockify",
  "plugins": [
    {
      "type": "bridge", "bridge": "$CLUSTER_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$CLUSTER_DIR/cni/ipam",
        "ranges": [[{"subnet": "$CLUSTER_SUBNET", "gateway": "$CLUSTER_GATEWAY"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
}

# --- containerd -----------------------------------------------------------------------------------
write_containerd_config() {
  local d="$CLUSTER_DIR/containerd"
  mkdir -p "$d/root" "$d/state" "$d/opt" "$d/certs.d/_default"
  printf 'server = "http://127.0.0.1:9"\n\n[host."http://127.0.0.1:9"]\n  capabilities = ["pull", "resolve"]\n' \
    >"$d/certs.d/_default/hosts.toml"
  cat >"$d/config.toml" <<TOML
# Generated by infra/cluster/cluster.sh: a private containerd for the local cluster.
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "$CONTAINERD_SOCK"

[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  enable_selinux = false
  # This machine does not let even root lower oom_score_adj (the kubelet asks -998 for sandboxes):
  # containerd clamps it to its own value instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  # No registry: images are imported. Every registry host resolves to a closed loopback port, so
  # a pod naming an image that was not imported fails at once instead of reaching out.
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$d/certs.d"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CLUSTER_DIR/cni/net.d"
TOML
}

containerd_healthy() { ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1; }

containerd_up() {
  write_containerd_config
  if ! is_running containerd; then
    log "cluster: starting containerd ($(containerd --version | awk '{print $3}')) on ${CONTAINERD_SOCK#"$ROOT"/}"
    start_bg containerd containerd --config "$CLUSTER_DIR/containerd/config.toml"
  fi
  wait_until 60 containerd containerd_healthy
}

# The pod sandbox image: a static pause binary (pause.c) in a one-layer OCI image built with umoci.
pause_image() {
  ctr_ images ls -q | grep -x "$PAUSE_IMAGE" >/dev/null && return 0
  local tmp; tmp="$(mktemp -d "$CLUSTER_DIR/pause.XXXXXX")"
  log "cluster: building the pause image $PAUSE_IMAGE"
  gcc -static -Os -o "$tmp/pause" "$INFRA_DIR/cluster/pause.c" || die "cluster: compiling pause.c failed (gcc -static needs libc6-dev)"
  strip "$tmp/pause"
  umoci init --layout "$tmp/oci" >/dev/null
  umoci new --image "$tmp/oci:1.0" >/dev/null
  umoci unpack --image "$tmp/oci:1.0" "$tmp/bundle" >/dev/null
  install -m 0755 "$tmp/pause" "$tmp/bundle/rootfs/pause"
  umoci repack --image "$tmp/oci:1.0" "$tmp/bundle" >/dev/null
  umoci config --image "$tmp/oci:1.0" --config.entrypoint /pause --config.user 65535:65535 \
    --architecture amd64 --os linux >/dev/null
  umoci gc --layout "$tmp/oci"
  sed -i "s#\"org.opencontainers.image.ref.name\":\"1.0\"#&,\"io.containerd.image.name\":\"$PAUSE_IMAGE\"#" "$tmp/oci/index.json"
  tar -C "$tmp/oci" -cf "$tmp/pause.tar" oci-layout index.json blobs
  ctr_ images import "$tmp/pause.tar" >/dev/null || die "cluster: importing the pause image failed"
  rm -rf "$tmp"
  ctr_ images ls -q | grep -x "$PAUSE_IMAGE" >/dev/null || die "cluster: pause image not named $PAUSE_IMAGE after import"
  # The kubelet must never garbage-collect it: pin it.
  ctr_ images label "$PAUSE_IMAGE" io.cri-containerd.pinned=pinned >/dev/null
}

import_images() {
  local f
  for f in "$@"; do
    [ -s "$f" ] || die "cluster: no image archive at $f (make image builds it)"
    # Skip archives whose manifest containerd already has under the same name.
    local name digest
    name="$(tar -xOf "$f" index.json | grep -o '"io.containerd.image.name":"[^"]*"' | head -1 | cut -d'"' -f4)"
    digest="$(tar -xOf "$f" index.json | grep -o '"digest":"sha256:[0-9a-f]*"' | head -1 | cut -d'"' -f4)"
    if [ -n "$name" ] && ctr_ images ls | awk -v n="$name" -v d="$digest" '$1 == n && $3 == d {f=1} END {exit !f}'; then
      log "cluster: $name already imported"; continue
    fi
    log "cluster: importing ${f#"$ROOT"/} into containerd"
    ctr_ images import --no-unpack=false "$f" >/dev/null || die "cluster: ctr images import $f failed"
  done
}

# --- client certificates --------------------------------------------------------------------------
# client_cert <name> <subject>: $CLUSTER_PKI/<name>.crt/.key, a client certificate of the cluster CA.
client_cert() {
  mkdir -p "$CLUSTER_PKI"; chmod 700 "$CLUSTER_PKI"
  local d="$CLUSTER_PKI" n="$1" subj="$2"
  # Reuse it only while it is signed by the current CA (the control plane's PKI may be new).
  [ -s "$d/$n.crt" ] && openssl verify -CAfile "$KUBE_PKI/ca.crt" "$d/$n.crt" >/dev/null 2>&1 && return 0
  openssl genrsa -out "$d/$n.key" 2048 2>/dev/null
  openssl req -new -key "$d/$n.key" -subj "$subj" -out "$d/$n.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$d/$n.ext"
  openssl x509 -req -in "$d/$n.csr" -CA "$KUBE_PKI/ca.crt" -CAkey "$KUBE_PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$d/$n.ext" -out "$d/$n.crt" 2>/dev/null || die "cluster: signing the $n certificate failed"
  rm -f "$d/$n.csr" "$d/$n.ext"
}

# --- kubelet --------------------------------------------------------------------------------------
# The Node authorizer knows a kubelet by this exact subject.
kubelet_pki() { client_cert "kubelet-$CLUSTER_NODE_NAME" "/O=system:nodes/CN=system:node:$CLUSTER_NODE_NAME"; }

write_kubeconfig() { # <file> <cert> <key>
  umask 077
  cat >"$1" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: stockify-local
  cluster:
    server: https://127.0.0.1:$CLUSTER_APISERVER_PORT
    certificate-authority: $KUBE_PKI/ca.crt
users:
- name: user
  user: {client-certificate: $2, client-key: $3}
contexts:
- name: default
  context: {cluster: stockify-local, user: user}
current-context: default
KCFG
  umask 022
}

write_kubelet_config() {
  local d="$CLUSTER_DIR/kubelet"
  mkdir -p "$d/root" "$d/pod-logs"
  write_kubeconfig "$d/kubeconfig" "$CLUSTER_PKI/kubelet-$CLUSTER_NODE_NAME.crt" "$CLUSTER_PKI/kubelet-$CLUSTER_NODE_NAME.key"
  cat >"$d/config.yaml" <<YAML
# Generated by infra/cluster/cluster.sh.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $CLUSTER_GATEWAY
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $KUBE_PKI/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# This machine mounts cgroup v1 (kubelet 1.35+ refuses it unless told otherwise); no systemd.
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
cgroupsPerQOS: ${CLUSTER_CGROUPS_PER_QOS:-true}
enforceNodeAllocatable: []
podLogsDir: $d/pod-logs
# Images come from ctr import, not a registry: never garbage-collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
serializeImagePulls: false
maxPods: 80
resolvConf: /etc/resolv.conf
# Cluster DNS: CoreDNS behind Service kube-system/kube-dns (coredns_up).
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: $CLUSTER_DOMAIN
staticPodPath: ""
rotateCertificates: false
serverTLSBootstrap: false
# Short enough that HPA and readiness react quickly in tests.
nodeStatusUpdateFrequency: 10s
YAML
}

node_ready() {
  $KUBECTL get node "$CLUSTER_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True
}
kubelet_healthy() { curl -fsS -m 3 http://127.0.0.1:10248/healthz | grep -q '^ok$'; }

kubelet_up() {
  kubelet_pki
  write_kubelet_config
  if ! is_running kubelet; then
    log "cluster: starting kubelet $KUBE_VERSION (node $CLUSTER_NODE_NAME, $CLUSTER_GATEWAY)"
    start_bg kubelet "$KUBE_BIN/kubelet" --config "$CLUSTER_DIR/kubelet/config.yaml" \
      --kubeconfig "$CLUSTER_DIR/kubelet/kubeconfig" --root-dir "$CLUSTER_DIR/kubelet/root" \
      --cert-dir "$CLUSTER_DIR/kubelet/pki" \
      --hostname-override "$CLUSTER_NODE_NAME" --node-ip "$CLUSTER_GATEWAY" --v "${KUBELET_VERBOSITY:-1}"
  fi
  wait_until 120 kubelet kubelet_healthy
  wait_until 120 kubelet node_ready
}

# --- metrics-server -------------------------------------------------------------------------------
metrics_server_build() {
  [ -x "$METRICS_SERVER_BIN" ] && return 0
  local go; go="$(find_go)"
  log "cluster: building metrics-server $METRICS_SERVER_VERSION (Go module proxy)"
  mkdir -p "$(dirname "$METRICS_SERVER_BIN")"
  GOBIN="$(dirname "$METRICS_SERVER_BIN")" CGO_ENABLED=0 GOFLAGS=-trimpath \
    "$go" install -ldflags "-s -w -X sigs.k8s.io/metrics-server/pkg/version.gitVersion=$METRICS_SERVER_VERSION" \
    "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION" \
    >"$STOCKIFY_CACHE/logs/build-metrics-server.log" 2>&1 ||
    { tail -n 20 "$STOCKIFY_CACHE/logs/build-metrics-server.log" >&2; die "cluster: building metrics-server failed"; }
}

metrics_api_available() {
  $KUBECTL get apiservice v1beta1.metrics.k8s.io -o jsonpath='{.status.conditions[?(@.type=="Available")].status}' | grep -qx True
}

metrics_server_up() {
  metrics_server_build
  local d="$CLUSTER_DIR/metrics-server"
  mkdir -p "$d"
  if ! is_running metrics-server; then
    log "cluster: starting metrics-server on $CLUSTER_GATEWAY:$METRICS_SERVER_PORT"
    # It reads node and pod lists with the admin credentials; the aggregator's requests reach it
    # without a front-proxy certificate (the local apiserver has none), so metrics reads are
    # allowed to the anonymous user by RBAC below.
    start_bg metrics-server "$METRICS_SERVER_BIN" --kubeconfig "$CLUSTER_KUBECONFIG" \
      --authentication-kubeconfig "$CLUSTER_KUBECONFIG" --authorization-kubeconfig "$CLUSTER_KUBECONFIG" \
      --bind-address "$CLUSTER_GATEWAY" --secure-port "$METRICS_SERVER_PORT" --cert-dir "$d" \
      --kubelet-insecure-tls --kubelet-preferred-address-types InternalIP \
      --kubelet-client-certificate "$KUBE_PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$KUBE_PKI/apiserver-kubelet-client.key" \
      --metric-resolution 15s
  fi
  $KUBECTL apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: metrics-server, namespace: kube-system, labels: {app.kubernetes.io/name: metrics-server}}
spec:
  clusterIP: $METRICS_SERVICE_IP
  ports: [{name: https, port: 443, protocol: TCP, targetPort: $METRICS_SERVER_PORT}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: metrics-server-host
  namespace: kube-system
  labels: {kubernetes.io/service-name: metrics-server, endpointslice.kubernetes.io/managed-by: stockify-local-cluster}
addressType: IPv4
endpoints: [{addresses: [$CLUSTER_GATEWAY], conditions: {ready: true}}]
ports: [{name: https, port: $METRICS_SERVER_PORT, protocol: TCP}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec:
  service: {name: metrics-server, namespace: kube-system, port: 443}
  group: metrics.k8s.io
  version: v1beta1
  insecureSkipTLSVerify: true
  groupPriorityMinimum: 100
  versionPriority: 100
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: stockify-local:metrics-reader}
rules: [{apiGroups: [metrics.k8s.io], resources: [pods, nodes], verbs: [get, list, watch]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: stockify-local:metrics-reader-anonymous}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: stockify-local:metrics-reader}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:anonymous"}]
YAML
  wait_until 120 metrics-server metrics_api_available
}

# --- kube-proxy -----------------------------------------------------------------------------------
kube_proxy_healthy() { curl -fsS -m 3 "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/healthz" >/dev/null; }

kube_proxy_up() {
  "$INFRA_DIR/kube/build.sh" # builds kube-proxy alone when the other binaries are cached
  # The bootstrap RBAC binds ClusterRole system:node-proxier to this user.
  client_cert kube-proxy "/CN=system:kube-proxy"
  local d="$CLUSTER_DIR/kube-proxy" masq=false
  mkdir -p "$d"
  write_kubeconfig "$d/kubeconfig" "$CLUSTER_PKI/kube-proxy.crt" "$CLUSTER_PKI/kube-proxy.key"
  # A pod's connection to a Service whose endpoint is another pod on the bridge comes back over the
  # bridge: only with br_netfilter do the replies pass the conntrack entry that undoes the DNAT.
  # Without it, masquerade every Service connection so the replies come through this host.
  if ! { [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ] ||
    { modprobe br_netfilter 2>/dev/null; sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null; }; }; then
    warn "cluster: no br_netfilter here; kube-proxy masquerades all Service traffic"
    masq=true
  fi
  # Written aside and moved in only when it differs: a running kube-proxy exits when its file changes.
  cat >"$d/config.yaml.new" <<YAML
# Generated by infra/cluster/cluster.sh.
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $d/kubeconfig}
hostnameOverride: $CLUSTER_NODE_NAME
mode: iptables
clusterCIDR: $CLUSTER_SUBNET
bindAddress: $CLUSTER_GATEWAY
healthzBindAddress: 127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$KUBE_PROXY_METRICS_PORT
# NodePorts on the pod network's gateway only, never on this machine's other interfaces.
nodePortAddresses: [$CLUSTER_GATEWAY/32]
iptables: {masqueradeAll: $masq, localhostNodePorts: false, syncPeriod: 30s, minSyncPeriod: 1s}
# Zero: leave this machine's conntrack table size and timeouts as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  if cmp -s "$d/config.yaml.new" "$d/config.yaml"; then rm -f "$d/config.yaml.new"; else mv -f "$d/config.yaml.new" "$d/config.yaml"; fi
  if ! is_running kube-proxy; then
    log "cluster: starting kube-proxy $KUBE_VERSION (iptables mode)"
    start_bg kube-proxy "$KUBE_BIN/kube-proxy" --config "$d/config.yaml" --v "${KUBE_PROXY_VERBOSITY:-1}"
  fi
  wait_until 60 kube-proxy kube_proxy_healthy
}

kube_proxy_down() {
  stop_pid kube-proxy 15
  # Its chains (KUBE-SERVICES and the rest) out of this machine's tables.
  if [ -x "$KUBE_BIN/kube-proxy" ] && command -v iptables >/dev/null 2>&1; then
    "$KUBE_BIN/kube-proxy" --cleanup >>"$LOG_DIR/kube-proxy.log" 2>&1 || warn "cluster: kube-proxy --cleanup failed (see .local/logs/kube-proxy.log)"
  fi
}

# --- CoreDNS --------------------------------------------------------------------------------------
coredns_ready() { curl -fsS -m 3 "http://$CLUSTER_GATEWAY:$COREDNS_READY_PORT/ready" >/dev/null; }

# The A record of kubernetes.default.svc.<domain> asked of the kube-dns ClusterIP, as a pod asks it
# (through kube-proxy's DNAT): true when the answer ends in 10.96.0.1.
cluster_dns_answers() {
  local name="kubernetes.default.svc.$CLUSTER_DOMAIN" q='\x53\x74\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00' l
  for l in ${name//./ }; do q+="$(printf '\\x%02x' "${#l}")$l"; done
  q+='\x00\x00\x01\x00\x01'
  local answer
  answer="$(
    exec 3<>"/dev/udp/$DNS_SERVICE_IP/53" || exit 1
    # One write, one datagram: printf alone may flush at the 0x0a of a 10-letter label.
    printf "$q" | dd bs=512 count=1 iflag=fullblock 2>/dev/null >&3
    timeout 2 dd bs=512 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d ' \n'
  )" || return 1
  [ "${answer:0:4}" = 5374 ] && [ "${answer: -8}" = "$(printf '%02x' ${KUBERNETES_SERVICE_IP//./ })" ]
}

coredns_up() {
  "$INFRA_DIR/coredns/build.sh"
  client_cert coredns "/CN=stockify-local:coredns"
  local d="$CLUSTER_DIR/coredns"
  mkdir -p "$d"
  write_kubeconfig "$d/kubeconfig" "$CLUSTER_PKI/coredns.crt" "$CLUSTER_PKI/coredns.key"
  cat >"$d/Corefile" <<COREFILE
# Generated by infra/cluster/cluster.sh: the local cluster's DNS (Service kube-system/kube-dns).
.:$COREDNS_PORT {
    bind $CLUSTER_GATEWAY
    errors
    ready $CLUSTER_GATEWAY:$COREDNS_READY_PORT
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $d/kubeconfig default
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    forward . /etc/resolv.conf
    cache 30
    loop
}
COREFILE
  # What CoreDNS reads (the upstream system:coredns role), and Service kube-dns at the kubelet's
  # --cluster-dns address, its endpoint this host.
  $KUBECTL apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: stockify-local:coredns}
rules:
- {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: stockify-local:coredns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: stockify-local:coredns}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "stockify-local:coredns"}]
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  clusterIP: $DNS_SERVICE_IP
  ports:
  - {name: dns, port: 53, protocol: UDP, targetPort: $COREDNS_PORT}
  - {name: dns-tcp, port: 53, protocol: TCP, targetPort: $COREDNS_PORT}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-host
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: stockify-local-cluster}
addressType: IPv4
endpoints: [{addresses: [$CLUSTER_GATEWAY], conditions: {ready: true}}]
ports:
- {name: dns, port: $COREDNS_PORT, protocol: UDP}
- {name: dns-tcp, port: $COREDNS_PORT, protocol: TCP}
YAML
  if ! is_running coredns; then
    log "cluster: starting CoreDNS $COREDNS_VERSION on $CLUSTER_GATEWAY:$COREDNS_PORT (Service kube-dns $DNS_SERVICE_IP)"
    start_bg coredns "$COREDNS_BIN/coredns" -conf "$d/Corefile"
  fi
  wait_until 60 coredns coredns_ready
  wait_until 60 coredns cluster_dns_answers
}

# --- kube-router (NetworkPolicies) ---------------------------------------------------------------
# Healthy, and its top-level chains hooked into FORWARD (pod to pod) and INPUT (pod to this host).
kube_router_ready() {
  curl -fsS -m 3 "http://127.0.0.1:$KUBE_ROUTER_HEALTH_PORT/healthz" >/dev/null &&
    iptables -S FORWARD | grep -q -- '-j KUBE-ROUTER-FORWARD' && iptables -S INPUT | grep -q -- '-j KUBE-ROUTER-INPUT'
}

kube_router_up() {
  "$INFRA_DIR/kube-router/build.sh"
  if ! is_running kube-router; then
    kube_router_rules_down # what a killed run left behind
    log "cluster: starting kube-router $KUBE_ROUTER_VERSION (network policy controller only)"
    # The cluster's admin credentials, like metrics-server: it lists pods, namespaces and policies.
    start_bg kube-router "$KUBE_ROUTER_BIN/kube-router" --kubeconfig "$CLUSTER_KUBECONFIG" \
      --hostname-override "$CLUSTER_NODE_NAME" --run-firewall=true --run-router=false --run-service-proxy=false \
      --service-cluster-ip-range "$KUBE_SERVICE_CIDR" --health-port "$KUBE_ROUTER_HEALTH_PORT" --metrics-port 0 \
      --v "${KUBE_ROUTER_VERBOSITY:-1}"
  fi
  wait_until 90 kube-router kube_router_ready
}

kube_router_down() {
  stop_pid kube-router 15
  kube_router_rules_down
}

# kube-router's filter chains (KUBE-ROUTER-*, KUBE-POD-FW-*, KUBE-NWPLCY-*), the jumps into them and
# its ipsets (KUBE-SRC-*, KUBE-DST-*) out of this machine's tables. Done here: `kube-router
# --cleanup-config` of v2.1.0 builds its network policy controller empty and removes nothing.
kube_router_rules_down() {
  command -v iptables-save >/dev/null 2>&1 || return 0
  local rule chain set
  iptables-save -t filter | grep -E '^-A (INPUT|FORWARD|OUTPUT) .*-j KUBE-ROUTER-' | while IFS= read -r rule; do
    # iptables-save quotes the rule's comment as a shell would: eval restores the words.
    eval "iptables -t filter -D ${rule#-A }" 2>/dev/null || true
  done || true # grep finds nothing when kube-router never ran
  local chains; chains="$(iptables-save -t filter | sed -nE 's/^:((KUBE-ROUTER-|KUBE-POD-FW-|KUBE-NWPLCY-)[^ ]*) .*/\1/p')"
  for chain in $chains; do iptables -t filter -F "$chain" 2>/dev/null || true; done
  for chain in $chains; do iptables -t filter -X "$chain" 2>/dev/null || true; done
  if command -v ipset >/dev/null 2>&1; then
    for set in $(ipset list -n 2>/dev/null | grep -E '^(KUBE-SRC-|KUBE-DST-)'); do ipset destroy "$set" 2>/dev/null || true; done
  fi
}

# --- Kafka's pod listener -------------------------------------------------------------------------
kafka_has_pod_listener() {
  grep -q "^advertised.listeners=.*POD://$CLUSTER_GATEWAY:$KAFKA_POD_PORT" "$LOCAL/kafka/server.properties" 2>/dev/null
}

services_up() {
  export KAFKA_POD_ADVERTISED_HOST="$CLUSTER_GATEWAY" KAFKA_POD_PORT
  if [ -f "$RUN_DIR/kafka.pid" ] && is_running kafka && ! kafka_has_pod_listener; then
    warn "cluster: restarting Kafka to add its pod listener ($CLUSTER_GATEWAY:$KAFKA_POD_PORT)"
    "$INFRA_DIR/infra.sh" down kafka
  fi
  "$INFRA_DIR/infra.sh" up kafka postgres redis
  kafka_has_pod_listener || die "cluster: Kafka has no pod listener (is it running outside infra.sh?)"
  control_plane up
}

# control_plane up|down|status: etcd, apiserver, controller-manager, scheduler of the cluster.
control_plane() {
  STOCKIFY_ROOT="$CLUSTER_CP_ROOT" KUBE_APISERVER_PORT="$CLUSTER_APISERVER_PORT" \
    ETCD_CLIENT_PORT="${CLUSTER_ETCD_CLIENT_PORT:-22379}" ETCD_PEER_PORT="${CLUSTER_ETCD_PEER_PORT:-22380}" \
    KUBE_CONTROLLER_MANAGER_PORT="${CLUSTER_CONTROLLER_MANAGER_PORT:-22257}" \
    KUBE_SCHEDULER_PORT="${CLUSTER_SCHEDULER_PORT:-22259}" "$INFRA_DIR/infra.sh" "$1" kube
}

write_cluster_env() {
  cat >"$LOCAL/cluster.env.tmp" <<ENV
# Generated by infra/cluster/cluster.sh: what pods use to reach the host's services.
export KUBECONFIG=$CLUSTER_KUBECONFIG
export CLUSTER_NODE_NAME=$CLUSTER_NODE_NAME
export CLUSTER_GATEWAY=$CLUSTER_GATEWAY
export CLUSTER_KAFKA_BROKERS=$CLUSTER_GATEWAY:$KAFKA_POD_PORT
export CLUSTER_DATABASE_URL=postgres://stockify:stockify@$CLUSTER_GATEWAY:$PG_PORT/stockify
export CLUSTER_REDIS_URL=redis://$CLUSTER_GATEWAY:$REDIS_PORT
# The port pods' connections to the API server reach after the DNAT (what an egress rule must admit).
export CLUSTER_APISERVER_PORT=$CLUSTER_APISERVER_PORT
export CONTAINERD_ADDRESS=$CONTAINERD_SOCK
ENV
  mv "$LOCAL/cluster.env.tmp" "$LOCAL/cluster.env"
}

cluster_up() {
  local t0; t0="$(now_s)"
  ensure_dirs
  cluster_prereqs
  mkdir -p "$CLUSTER_DIR"
  network_up
  services_up
  write_cni_config
  containerd_up
  pause_image
  local img="$LOCAL/image/stockify.oci.tar"
  [ -s "$img" ] && import_images "$img"
  kubelet_up
  ok "cluster: node $CLUSTER_NODE_NAME Ready ($(( $(now_s) - t0 ))s)"
  kube_proxy_up
  coredns_up
  ok "cluster: kube-proxy serves ClusterIPs; CoreDNS answers for $CLUSTER_DOMAIN at $DNS_SERVICE_IP ($(( $(now_s) - t0 ))s)"
  kube_router_up
  ok "cluster: kube-router enforces NetworkPolicies ($(( $(now_s) - t0 ))s)"
  if [ "${CLUSTER_METRICS:-1}" = 1 ]; then metrics_server_up; ok "cluster: metrics.k8s.io available"; fi
  write_cluster_env
  ok "cluster up in $(( $(now_s) - t0 ))s; environment: . .local/infra.env && . .local/cluster.env"
}

# Stop every pod sandbox and container of our containerd, then the kubelet and containerd.
cluster_down() {
  stop_pid metrics-server 15
  kube_router_down
  stop_pid coredns 15
  kube_proxy_down
  if is_running kubelet; then
    $KUBECTL delete node "$CLUSTER_NODE_NAME" --wait=false >/dev/null 2>&1 || true
    stop_pid kubelet 20
  fi
  if is_running containerd; then
    local t
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
    sleep 1
    for t in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$t" >/dev/null 2>&1 || true; done
    for t in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers delete "$t" >/dev/null 2>&1 || true; done
    stop_pid containerd 20
  fi
  # Shims left behind by a killed containerd (their command line names our state dir).
  local p
  for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true); do kill -KILL "$p" 2>/dev/null || true; done
  # Mounts of pod volumes and container root filesystems under .local/cluster.
  if [ -d "$CLUSTER_DIR" ]; then
    awk -v d="$CLUSTER_DIR/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  fi
  network_down
  control_plane down
  rm -f "$LOCAL/cluster.env"
  ok "cluster down (the shared Kafka, PostgreSQL and Redis are left running)"
}

cluster_status() {
  control_plane status
  local n
  for n in containerd kubelet kube-proxy coredns kube-router metrics-server; do
    if is_running "$n"; then printf '%-25s running  (pid %s)\n' "$n" "$(pid_of "$n")"; else printf '%-25s stopped\n' "$n"; fi
  done
  if is_running kubelet && node_ready; then echo "          node $CLUSTER_NODE_NAME Ready at $CLUSTER_GATEWAY"; fi
}

cmd="${1:-}"; [ $# -gt 0 ] && shift
case "$cmd" in
  up) cluster_up ;;
  down) cluster_down ;;
  status) cluster_status ;;
  env) cat "$LOCAL/cluster.env" ;;
  import) import_images "$@" ;;
  *) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//p}' "$0" >&2; exit 2 ;;
esac
