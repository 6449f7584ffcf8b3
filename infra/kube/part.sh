# Part "kube": etcd, kube-apiserver (https://127.0.0.1:$KUBE_APISERVER_PORT), kube-controller-manager
# and kube-scheduler, built from source by kube/build.sh and etcd/build.sh (Helm is built with
# them for the PATH in .local/infra.env). Admin kubeconfig: .local/kubeconfig. No nodes: objects
# are real, pods stay Pending until a kubelet joins. Sourced by infra/infra.sh.

. "$INFRA_DIR/kube/pki.sh"

KUBE_STATE="$LOCAL/kube"
KUBE_PKI="$KUBE_STATE/pki"
KUBECONFIG_FILE="$LOCAL/kubeconfig"
ETCD_DATA="$LOCAL/etcd"
KUBE_ADVERTISE_ADDRESS="${KUBE_ADVERTISE_ADDRESS:-127.0.0.1}"
KUBE_BIND_ADDRESS="${KUBE_BIND_ADDRESS:-127.0.0.1}"
KUBE_CONTROLLER_MANAGER_PORT="${KUBE_CONTROLLER_MANAGER_PORT:-10257}"
KUBE_SCHEDULER_PORT="${KUBE_SCHEDULER_PORT:-10259}"
KUBE_SERVICE_CIDR="${KUBE_SERVICE_CIDR:-10.96.0.0/16}"
KUBE_COMPONENTS="etcd kube-apiserver kube-controller-manager kube-scheduler"

kube_env() {
  echo "export KUBECONFIG=$KUBECONFIG_FILE"
}

etcd_healthy() { curl -fsS -m 3 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" | grep -q '"health":"true"'; }
apiserver_healthy() {
  curl -fsS -m 5 --cacert "$KUBE_PKI/ca.crt" --cert "$KUBE_PKI/admin.crt" --key "$KUBE_PKI/admin.key" \
    "https://127.0.0.1:$KUBE_APISERVER_PORT/readyz" | grep -q '^ok$'
}
# /healthz is always allowed anonymously on the controller-manager and the scheduler.
controller_manager_healthy() { curl -fsSk -m 3 "https://127.0.0.1:$KUBE_CONTROLLER_MANAGER_PORT/healthz" | grep -q '^ok$'; }
scheduler_healthy() { curl -fsSk -m 3 "https://127.0.0.1:$KUBE_SCHEDULER_PORT/healthz" | grep -q '^ok$'; }
# The service-account controller creating "default" proves the controller-manager is working.
default_sa_exists() { "$KUBE_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" -n default get serviceaccount default; }

kube_healthy() { etcd_healthy && apiserver_healthy && controller_manager_healthy && scheduler_healthy; }

kube_status() {
  local c check
  for c in $KUBE_COMPONENTS; do
    case "$c" in
      etcd) check=etcd_healthy ;; kube-apiserver) check=apiserver_healthy ;;
      kube-controller-manager) check=controller_manager_healthy ;; kube-scheduler) check=scheduler_healthy ;;
    esac
    if is_running "$c" && $check >/dev/null 2>&1; then
      printf '%-25s running  (pid %s)\n' "$c" "$(pid_of "$c")"
    elif is_running "$c"; then
      printf '%-25s starting/unhealthy (pid %s); see .local/logs/%s.log\n' "$c" "$(pid_of "$c")" "$c"
    else
      printf '%-25s stopped\n' "$c"
    fi
  done
  if is_running kube-apiserver && apiserver_healthy >/dev/null 2>&1; then
    echo "          apiserver https://127.0.0.1:$KUBE_APISERVER_PORT, Kubernetes $KUBE_VERSION, kubeconfig ${KUBECONFIG_FILE#"$ROOT"/}"
  fi
}

kube_prereqs() {
  need_pkg_cmd curl curl
  need_pkg_cmd openssl openssl
  find_go >/dev/null
  "$INFRA_DIR/kube/build.sh"
  "$INFRA_DIR/etcd/build.sh"
  "$INFRA_DIR/helm/build.sh"
}

# kube_start <component> <health function> <timeout> <command...>
kube_start() {
  local c="$1" check="$2" t="$3"; shift 3
  if ! is_running "$c"; then
    log "kube: starting $c"
    start_bg "$c" "$@"
    [ -z "$KUBE_STARTED" ] && STARTED_PARTS+=(kube)
    KUBE_STARTED=1
  fi
  wait_until "$t" "$c" "$check"
}

kube_up() {
  kube_prereqs
  if ! is_running kube-apiserver; then
    port_in_use "$KUBE_APISERVER_PORT" && die "kube: port $KUBE_APISERVER_PORT is in use by another process (set KUBE_APISERVER_PORT)"
  fi
  if ! is_running etcd; then
    port_in_use "$ETCD_CLIENT_PORT" && die "kube: etcd port $ETCD_CLIENT_PORT is in use by another process (set ETCD_CLIENT_PORT)"
    port_in_use "$ETCD_PEER_PORT" && die "kube: etcd peer port $ETCD_PEER_PORT is in use by another process (set ETCD_PEER_PORT)"
  fi
  mkdir -p "$KUBE_STATE" "$ETCD_DATA"; chmod 700 "$ETCD_DATA"
  kube_pki
  kube_kubeconfig "$KUBECONFIG_FILE" admin stockify-admin
  kube_kubeconfig "$KUBE_STATE/controller-manager.kubeconfig" controller-manager system:kube-controller-manager
  kube_kubeconfig "$KUBE_STATE/scheduler.kubeconfig" scheduler system:kube-scheduler
  KUBE_STARTED=
  local etcd_url="http://127.0.0.1:$ETCD_CLIENT_PORT" peer_url="http://127.0.0.1:$ETCD_PEER_PORT"
  kube_start etcd etcd_healthy 60 "$ETCD_BIN/etcd" --name stockify --data-dir "$ETCD_DATA" \
    --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "$peer_url" --initial-advertise-peer-urls "$peer_url" \
    --initial-cluster "stockify=$peer_url" --initial-cluster-state new \
    --log-level warn --quota-backend-bytes 4294967296

  local p="$KUBE_PKI" extra=()
  # A loopback advertise address cannot be published as the "kubernetes" Service endpoint.
  # Aggregated APIs (metrics-server) get the front-proxy client identity; with no kube-proxy the
  # aggregator dials endpoint addresses, not ClusterIPs.
  case "$KUBE_ADVERTISE_ADDRESS" in 127.*) extra+=(--endpoint-reconciler-type=none) ;; esac
  kube_start kube-apiserver apiserver_healthy 180 "$KUBE_BIN/kube-apiserver" \
    --etcd-servers="$etcd_url" \
    --bind-address="$KUBE_BIND_ADDRESS" --secure-port="$KUBE_APISERVER_PORT" \
    --advertise-address="$KUBE_ADVERTISE_ADDRESS" \
    --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
    --client-ca-file="$p/ca.crt" \
    --kubelet-client-certificate="$p/apiserver-kubelet-client.crt" --kubelet-client-key="$p/apiserver-kubelet-client.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
    --service-cluster-ip-range="$KUBE_SERVICE_CIDR" \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true \
    --requestheader-client-ca-file="$p/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$p/front-proxy-client.crt" --proxy-client-key-file="$p/front-proxy-client.key" \
    --enable-aggregator-routing=true \
    --profiling=false \
    "${extra[@]}"

  kube_start kube-controller-manager controller_manager_healthy 90 "$KUBE_BIN/kube-controller-manager" \
    --kubeconfig="$KUBE_STATE/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$KUBE_STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$KUBE_STATE/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$KUBE_CONTROLLER_MANAGER_PORT" \
    --controllers='*' --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.crt" \
    --cluster-signing-cert-file="$p/ca.crt" --cluster-signing-key-file="$p/ca.key" \
    --service-cluster-ip-range="$KUBE_SERVICE_CIDR" --allocate-node-cidrs=false \
    --profiling=false

  kube_start kube-scheduler scheduler_healthy 90 "$KUBE_BIN/kube-scheduler" \
    --kubeconfig="$KUBE_STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig="$KUBE_STATE/scheduler.kubeconfig" \
    --authorization-kubeconfig="$KUBE_STATE/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$KUBE_SCHEDULER_PORT" \
    --leader-elect=false --profiling=false

  wait_until 60 kube-controller-manager default_sa_exists
  ok "kube: ready at https://127.0.0.1:$KUBE_APISERVER_PORT (Kubernetes $KUBE_VERSION); KUBECONFIG=${KUBECONFIG_FILE#"$ROOT"/}"
}

kube_down() {
  local c
  for c in kube-scheduler kube-controller-manager kube-apiserver etcd; do
    if is_running "$c"; then
      log "kube: stopping $c"
      stop_pid "$c" 30
    fi
    rm -f "$RUN_DIR/$c.pid"
  done
}
