#!/usr/bin/env bash
# Build the one stockify image without a container daemon: a cached base (image/rootfs.sh: Node,
# its libraries, CA certificates, user 65532) plus an app layer (the .ts sources, proto/ and the
# production node_modules), assembled with umoci into an OCI archive that `ctr images import`,
# skopeo or podman load.
#   env: NODE_BIN (the Node 24 binary), IMAGE_NAME, IMAGE_TAG, IMAGE_OUT, STOCKIFY_CACHE
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

: "${STOCKIFY_CACHE:=$HOME/.cache/stockify}"
: "${NODE_BIN:?NODE_BIN must name the Node 24 binary to ship}"
version="$(node -p 'require("./package.json").version' 2>/dev/null || "$NODE_BIN" -p 'require("./package.json").version')"
: "${IMAGE_NAME:=docker.io/stockify/stockify}"
: "${IMAGE_TAG:=$version}"
: "${IMAGE_OUT:=$root/.local/image/stockify.oci.tar}"

image/install-deps.sh

node_version="$("$NODE_BIN" --version)"
case "$node_version" in v24.*) ;; *) echo "image/build.sh: NODE_BIN is Node $node_version; the image needs Node 24" >&2; exit 2 ;; esac
arch="$(uname -m)"; case "$arch" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; esac

# --- base layer, cached by Node version and the recipe that made it -------------------------------
recipe_hash="$(cat image/rootfs.sh /etc/debian_version 2>/dev/null | sha256sum | cut -c1-12)"
base="$STOCKIFY_CACHE/image/base-node-${node_version#v}-$arch-$recipe_hash"
if [ ! -f "$base/index.json" ]; then
  echo "==> image base: Node $node_version ($arch) into $base"
  tmp="$base.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  umoci init --layout "$tmp/oci"
  umoci new --image "$tmp/oci:base"
  umoci unpack --image "$tmp/oci:base" "$tmp/bundle" >/dev/null
  rmdir "$tmp/bundle/rootfs"
  image/rootfs.sh "$NODE_BIN" "$tmp/bundle/rootfs"
  umoci repack --image "$tmp/oci:base" "$tmp/bundle"
  rm -rf "$base" && mv "$tmp/oci" "$base" && rm -rf "$tmp"
  trap - EXIT
fi

# --- production node_modules, cached by package-lock.json -----------------------------------------
lock_hash="$(cat package.json package-lock.json image/prod-modules.mjs | sha256sum | cut -c1-12)"
deps="$STOCKIFY_CACHE/image/deps-$lock_hash"
if [ ! -d "$deps/node_modules" ]; then
  echo "==> image deps: npm ci --omit=dev into $deps"
  tmp="$deps.tmp.$$"; rm -rf "$tmp"; mkdir -p "$tmp"
  trap 'rm -rf "$tmp"' EXIT
  cp package.json package-lock.json "$tmp/"
  if ! (cd "$tmp" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=silent); then
    # npm ci refuses a lock file that misses optional platform packages of dev tools; fall back to
    # the tree `make deps` installed from that same lock, filtered to production packages.
    echo "image/build.sh: npm ci --omit=dev refused package-lock.json; copying production packages from node_modules" >&2
    rm -rf "$tmp/node_modules"
    "$NODE_BIN" image/prod-modules.mjs "$root" "$tmp"
  fi
  rm -f "$tmp/node_modules/.installed"
  rm -rf "$deps" && mv "$tmp" "$deps"
  trap - EXIT
fi

# --- app layer --------------------------------------------------------------------------------------
work="$root/.local/image/work"
rm -rf "$work" && mkdir -p "$work"
cp -a "$base" "$work/oci"
umoci unpack --image "$work/oci:base" "$work/bundle" >/dev/null
app="$work/bundle/rootfs/app"
cp package.json "$app/"
cp -a proto "$app/proto"
# Only the runtime sources: TypeScript files of services/ and operator/ (tests stay out; of the web
# console only serve.ts, the gateway's static route: its sources and tools are bundled below).
find services operator -type f -name '*.ts' \
  -not \( -path 'services/gateway/console/*' -not -path services/gateway/console/serve.ts \) -print0 |
  tar --null -T - -cf - | tar -xf - -C "$app"
cp services/stockify.js "$app/services/" # the entrypoint's launcher
# The web console, bundled now (esbuild, a devDependency) into the static files the gateway serves
# from /app/dist/console: the image carries no bundler and the page loads nothing from elsewhere.
"$NODE_BIN" services/gateway/console/build.ts "$app/dist/console"
cp -a "$deps/node_modules" "$app/node_modules"
# V8's compile cache, warmed here so that a new pod starts warm: each command's modules compiled
# once (`<command> --help` loads them), TypeScript stripped once. Node keys the cache by path and
# user, so it is made in the image's own filesystem (chroot) as the users the pods run as: 10001
# for the feed's pods (operator/desired/deployment.ts, gateway.ts) and 65532 for the operator
# (the chart's securityContext) and for `stockify query` in client pods. Read-only at run time;
# a start that misses it (another user, a changed file) compiles as it would without.
compile_cache=/app/compile-cache
chroot_bin="$(command -v chroot || true)"
warm() {
  local uid="$1"; shift
  local command
  for command in "$@"; do
    env -i NODE_COMPILE_CACHE="$compile_cache" "$chroot_bin" --userspec="$uid:$uid" "$work/bundle/rootfs" \
      /usr/local/bin/node /app/services/stockify.js "$command" --help >/dev/null || return 1
  done
}
if [ "$(id -u)" != 0 ] || [ -z "$chroot_bin" ]; then
  echo "image/build.sh: not root (or no chroot): the compile cache is not warmed; pods compile their modules at start" >&2
else
  mkdir -m 1777 "$app/compile-cache"
  if warm 10001 ingestion processor storage gateway && warm 65532 operator query; then
    echo "==> compile cache warmed for uid 10001 and 65532: $(find "$app/compile-cache" -type f | wc -l) entries"
  else
    echo "image/build.sh: warming the compile cache failed (above); the image has none" >&2
    rm -rf "$app/compile-cache"
  fi
fi
chown -R 0:0 "$app" && chmod -R a+rX,go-w "$app"
umoci repack --image "$work/oci:base" "$work/bundle"

revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
umoci config --image "$work/oci:base" --tag "$IMAGE_TAG" \
  --config.user 65532:65532 \
  --config.workingdir /app \
  --config.entrypoint /usr/local/bin/node --config.entrypoint /app/services/stockify.js \
  --clear config.cmd --config.cmd --help \
  --config.env NODE_ENV=production \
  --config.env NODE_COMPILE_CACHE="$compile_cache" \
  --config.env PATH=/usr/local/bin \
  --config.env HOME=/home/nonroot \
  --config.label org.opencontainers.image.title=stockify \
  --config.label "org.opencontainers.image.description=Stockify market-data pipeline: operator, ingestion, processor, storage (entrypoint: stockify <command>)" \
  --config.label "org.opencontainers.image.version=$IMAGE_TAG" \
  --config.label "org.opencontainers.image.revision=$revision" \
  --config.label org.opencontainers.image.licenses=Apache-2.0 \
  --config.label "org.opencontainers.image.created=$created" \
  --config.label "io.stockify.node-version=$node_version" \
  --architecture "$arch" --os linux \
  --history.created_by "image/build.sh: stockify $IMAGE_TAG app layer"
umoci rm --image "$work/oci:base"
umoci gc --layout "$work/oci"

# containerd names an imported image from this annotation (ctr images import, kubelet's runtime).
"$NODE_BIN" -e '
  const fs = require("node:fs");
  const [file, name] = process.argv.slice(1);
  const index = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const m of index.manifests) m.annotations = { ...m.annotations, "io.containerd.image.name": name };
  fs.writeFileSync(file, JSON.stringify(index));
' "$work/oci/index.json" "$IMAGE_NAME:$IMAGE_TAG"

mkdir -p "$(dirname "$IMAGE_OUT")"
tar -C "$work/oci" -cf "$IMAGE_OUT.tmp" oci-layout index.json blobs
mv "$IMAGE_OUT.tmp" "$IMAGE_OUT"
rm -rf "$work"
echo "==> $IMAGE_OUT ($IMAGE_NAME:$IMAGE_TAG, $(du -h "$IMAGE_OUT" | cut -f1))"
