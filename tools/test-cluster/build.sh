#!/usr/bin/env bash
# Builds the cluster's binaries into $TURBOLIFT_CLUSTER_CACHE/bin, once per machine:
#   - kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy (k8s.io/kubernetes at the
#     version go.mod pins) and the pause program; stamp bin/.inputs-sha256 (go.mod, go.sum, pause/main.go,
#     this script, the Go version). Cold: several minutes and ~3 GB of Go build cache.
#   - metrics-server (sigs.k8s.io/metrics-server at the version metrics-server/go.mod pins); stamp
#     bin/.metrics-server-inputs-sha256 (its go.mod, go.sum, tools.go, this script, the Go version). Cold: 2-4 min.
#   - coredns (github.com/coredns/coredns at the version coredns/go.mod pins, with coredns/main.go's plugins
#     only); stamp bin/.coredns-inputs-sha256 (its go.mod, go.sum, main.go, this script, the Go version).
# Each part is rebuilt only when its own stamp no longer matches; warm: instant.
# stdout: the bin folder.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

command -v go >/dev/null || die "go is not on PATH (needed to build the cluster's binaries)"
mkdir -p "$CLUSTER_BIN"
exec 8>"$CLUSTER_CACHE/build.lock"
flock -w 1800 8 || die "another build.sh holds $CLUSTER_CACHE/build.lock for over 30 minutes"

# The checksum database does not serve k8s.io and sigs.k8s.io modules here; the committed go.sum files
# pin their hashes instead.
export GONOSUMDB="${GONOSUMDB:-k8s.io,sigs.k8s.io}"

stamp_matches() { # stamp-file wanted-hash binaries...
  local stamp="$1" want="$2" cmd; shift 2
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] || return 1
  for cmd in "$@"; do [ -x "$CLUSTER_BIN/$cmd" ] || return 1; done
}

# ---- Kubernetes and pause -------------------------------------------------------------------------------
build_kubernetes() {
  local stamp="$1" want="$2" started pkg cmd ldflags="" packages=()
  cd "$TEST_CLUSTER_DIR"
  export GOFLAGS="-mod=mod -buildvcs=false"
  started=$(date +%s)
  log "building $K8S_COMMANDS into $CLUSTER_BIN (cold: several minutes)"
  rm -f "$stamp"
  for cmd in $K8S_COMMANDS; do packages+=("k8s.io/kubernetes/cmd/$cmd"); done
  # Stamp the version go.mod pins (a module build otherwise reports v0.0.0-master), as upstream's release does.
  local version
  version="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' go.mod)"
  [[ "$version" =~ ^v([0-9]+)\.([0-9]+)\. ]] || die "go.mod: no 'require k8s.io/kubernetes vX.Y.Z' line"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=${BASH_REMATCH[1]} -X $pkg.gitMinor=${BASH_REMATCH[2]}"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  go build -ldflags "$ldflags" -o "$CLUSTER_BIN/" "${packages[@]}" >&2
  # pause runs FROM scratch: no libc, so no cgo.
  CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$CLUSTER_BIN/pause" ./pause >&2
  echo "$want" >"$stamp"
  log "built Kubernetes binaries in $(( $(date +%s) - started ))s"
}

# ---- metrics-server -------------------------------------------------------------------------------------
# Built from a module of its own (metrics-server/) rather than `go install ...@version`: with the checksum
# database off for sigs.k8s.io, `go install` would take whatever the proxy serves, while the committed
# go.sum fixes every module's hash (-mod=readonly: the build fails instead of resolving anything anew).
# `go mod tidy` there selects exactly the versions metrics-server's own go.mod lists.
build_metrics_server() {
  local stamp="$1" want="$2" started version
  cd "$METRICS_SERVER_MODULE_DIR"
  export GOFLAGS="-mod=readonly -buildvcs=false"
  started=$(date +%s)
  log "building metrics-server into $CLUSTER_BIN (cold: 2-4 minutes)"
  rm -f "$stamp"
  version="$(awk '$1 == "require" && $2 == "sigs.k8s.io/metrics-server" { print $3 }' go.mod)"
  [ -n "$version" ] || die "metrics-server/go.mod: no 'require sigs.k8s.io/metrics-server vX.Y.Z' line"
  # As upstream's Makefile builds it: static, trimmed, its version stamped into client-go's version package.
  CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X k8s.io/client-go/pkg/version.gitVersion=$version -X k8s.io/client-go/pkg/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.buildDate=1970-01-01T00:00:00Z" \
    -o "$CLUSTER_BIN/metrics-server" sigs.k8s.io/metrics-server/cmd/metrics-server >&2
  echo "$want" >"$stamp"
  log "built metrics-server in $(( $(date +%s) - started ))s"
}

# ---- CoreDNS --------------------------------------------------------------------------------------------
# Its own module too (coredns/), for the same reasons, with main.go in place of upstream's coredns.go: the
# same entry point (coremain.Run) with only the plugins the Corefile in up.sh uses. Far less to compile
# than every plugin (no cloud SDKs), and no plugin that could send a query out of the cluster.
build_coredns() {
  local stamp="$1" want="$2" started
  cd "$COREDNS_MODULE_DIR"
  export GOFLAGS="-mod=readonly -buildvcs=false"
  started=$(date +%s)
  log "building coredns into $CLUSTER_BIN (cold: about 2 minutes)"
  rm -f "$stamp"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$CLUSTER_BIN/coredns" . >&2
  echo "$want" >"$stamp"
  log "built coredns in $(( $(date +%s) - started ))s"
}

KUBE_STAMP="$CLUSTER_BIN/.inputs-sha256"
KUBE_WANT="$(build_inputs_hash)"
# shellcheck disable=SC2086
if stamp_matches "$KUBE_STAMP" "$KUBE_WANT" $K8S_COMMANDS pause; then
  log "Kubernetes binaries in $CLUSTER_BIN are current"
else
  (build_kubernetes "$KUBE_STAMP" "$KUBE_WANT")
fi

METRICS_STAMP="$CLUSTER_BIN/.metrics-server-inputs-sha256"
METRICS_WANT="$(metrics_server_inputs_hash)"
if stamp_matches "$METRICS_STAMP" "$METRICS_WANT" metrics-server; then
  log "metrics-server in $CLUSTER_BIN is current"
else
  (build_metrics_server "$METRICS_STAMP" "$METRICS_WANT")
fi

COREDNS_STAMP="$CLUSTER_BIN/.coredns-inputs-sha256"
COREDNS_WANT="$(coredns_inputs_hash)"
if stamp_matches "$COREDNS_STAMP" "$COREDNS_WANT" coredns; then
  log "coredns in $CLUSTER_BIN is current"
else
  (build_coredns "$COREDNS_STAMP" "$COREDNS_WANT")
fi
echo "$CLUSTER_BIN"
