#!/usr/bin/env bash
# Minimal root filesystem for the stockify image: the Node binary, exactly the shared libraries it
# links (as ldd resolves them), CA certificates, and a non-root user (65532, "nonroot").
# No shell, no package manager: nothing in the image but what `node` needs to run.
# Used by `make image` (daemonless, locally) and by the Containerfile's rootfs stage alike.
#   usage: image/rootfs.sh <path to node> <output dir>
set -euo pipefail
node_bin="${1:?usage: rootfs.sh <node binary> <out dir>}"
out="${2:?usage: rootfs.sh <node binary> <out dir>}"
[ -x "$node_bin" ] || { echo "rootfs.sh: $node_bin is not an executable" >&2; exit 2; }
[ -e "$out" ] && { echo "rootfs.sh: $out already exists; give a fresh directory" >&2; exit 2; }

mkdir -p "$out"/{usr/local/bin,etc/ssl/certs,app,home/nonroot}
install -m 0755 "$node_bin" "$out/usr/local/bin/node"

# Each library at the path the dynamic loader looks for it (cp -L copies the target of symlinks).
while read -r lib; do
  [ -n "$lib" ] || continue
  mkdir -p "$out$(dirname "$lib")"
  cp -L "$lib" "$out$lib"
done < <(ldd "$node_bin" | awk '/=> \//{print $3} /^[ \t]*\/[^ ]+ \(/{print $1}')
# Name resolution for getaddrinfo (DNS is what the components use: kafka, postgres, redis hosts).
for lib in $(ldconfig -p 2>/dev/null | awk '/libnss_(dns|files)\.so\.2 .*x86-64|libnss_(dns|files)\.so\.2 \(libc6,AArch64/{print $NF}'); do
  mkdir -p "$out$(dirname "$lib")" && cp -L "$lib" "$out$lib"
done
ldd "$node_bin" >/dev/null  # fail loudly when ldd cannot read the binary

if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  install -m 0644 /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/ca-certificates.crt"
else
  echo "rootfs.sh: no /etc/ssl/certs/ca-certificates.crt; Node falls back to its bundled CA store" >&2
fi

cat >"$out/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$out/etc/group" <<'GROUP'
root:x:0:
nonroot:x:65532:
GROUP
printf 'hosts: files dns\n' >"$out/etc/nsswitch.conf"
chmod 0644 "$out"/etc/{passwd,group,nsswitch.conf}
chown 65532:65532 "$out/home/nonroot" 2>/dev/null || true
# /tmp is an emptyDir in the chart (read-only root); world-writable with the sticky bit otherwise.
mkdir -p "$out/tmp" && chmod 1777 "$out/tmp"
