# Certificates and keys of the local control plane (openssl), in .local/kube/pki. Sourced by
# kube/part.sh. Generated once; delete .local/kube to start over.

# kube_cert <name> <subject> <extensions> [ca name]: key + cert signed by a local CA (default ca).
kube_cert() {
  local name="$1" subj="$2" ext="$3" ca="${4:-ca}" d="$KUBE_PKI"
  [ -s "$d/$name.crt" ] && return 0
  openssl genrsa -out "$d/$name.key" 2048 2>/dev/null
  openssl req -new -key "$d/$name.key" -subj "$subj" -out "$d/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$d/$name.ext"
  openssl x509 -req -in "$d/$name.csr" -CA "$d/$ca.crt" -CAkey "$d/$ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$d/$name.ext" -out "$d/$name.crt" 2>/dev/null ||
    die "kube: signing the $name certificate failed"
  rm -f "$d/$name.csr" "$d/$name.ext"
}

kube_pki() {
  need_cmd openssl "Debian package openssl"
  mkdir -p "$KUBE_PKI"; chmod 700 "$KUBE_PKI"
  local d="$KUBE_PKI" ca
  [ -s "$d/ca.crt" ] || log "kube: generating local CAs, serving and client certificates, service-account keys"
  # ca signs everything; front-proxy-ca only the aggregator's client (as kubeadm does).
  for ca in ca front-proxy-ca; do
    [ -s "$d/$ca.crt" ] && continue
    openssl genrsa -out "$d/$ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$d/$ca.key" -sha256 -days 3650 -subj "/CN=stockify-local-$ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$d/$ca.crt" 2>/dev/null || die "kube: creating $ca failed"
  done
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  kube_cert apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,IP:${KUBE_ADVERTISE_ADDRESS},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  kube_cert admin "/O=system:masters/CN=stockify-admin" "$client"
  kube_cert controller-manager "/CN=system:kube-controller-manager" "$client"
  kube_cert scheduler "/CN=system:kube-scheduler" "$client"
  kube_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "$client"
  kube_cert front-proxy-client "/CN=front-proxy-client" "$client" front-proxy-ca
  if [ ! -s "$d/sa.key" ]; then
    openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
    openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  fi
}

# kube_kubeconfig <file> <cert name> <user>: a kubeconfig with embedded certificates.
kube_kubeconfig() {
  local file="$1" cert="$2" user="$3" d="$KUBE_PKI"
  umask 077
  cat >"$file" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: stockify-local
  cluster:
    server: https://127.0.0.1:$KUBE_APISERVER_PORT
    certificate-authority-data: $(base64 -w0 <"$d/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 <"$d/$cert.crt")
    client-key-data: $(base64 -w0 <"$d/$cert.key")
contexts:
- name: $user@stockify-local
  context: {cluster: stockify-local, user: $user}
current-context: $user@stockify-local
KCFG
  umask 022
}
