#!/usr/bin/env bash
# Install Helm HELM_VERSION with `go install` into $STOCKIFY_CACHE/helm/<version>/bin, once,
# with the version ldflags of Helm's own Makefile. The default Kubernetes version that
# `helm template` and `helm lint` assume is set to the local cluster's (KUBE_VERSION).
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

build() {
  [ -x "$HELM_BIN/helm" ] && return 0
  local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  local ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  ld+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  local p
  for p in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ld+=" -X $p.k8sVersionMajor=1 -X $p.k8sVersionMinor=$minor"
  done
  go_install helm "$HELM_VERSION" "$HELM_BIN" "$ld" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

with_lock "$STOCKIFY_CACHE/helm/.lock" build
ok "helm $HELM_VERSION in $HELM_BIN"
