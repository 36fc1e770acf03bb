#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy (k8s.io/kubernetes
# at the version go.mod pins) and the pause program into $TURBOLIFT_CLUSTER_CACHE/bin, once per machine:
# a stamp file holds the hash of go.mod, go.sum, pause/main.go and the Go version, and nothing is rebuilt
# while it matches. Cold: several minutes and ~3 GB of Go build cache; warm: instant.
# stdout: the bin folder.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

command -v go >/dev/null || die "go is not on PATH (needed to build the cluster's binaries)"
mkdir -p "$CLUSTER_BIN"
exec 8>"$CLUSTER_CACHE/build.lock"
flock -w 1800 8 || die "another build.sh holds $CLUSTER_CACHE/build.lock for over 30 minutes"

STAMP="$CLUSTER_BIN/.inputs-sha256"
WANT="$(build_inputs_hash)"
all_present() {
  local cmd
  for cmd in $K8S_COMMANDS pause; do [ -x "$CLUSTER_BIN/$cmd" ] || return 1; done
}
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && all_present; then
  log "binaries in $CLUSTER_BIN are current"
  echo "$CLUSTER_BIN"
  exit 0
fi

cd "$TEST_CLUSTER_DIR"
# The checksum database does not serve k8s.io modules here; go.sum (committed) pins their hashes instead.
export GONOSUMDB="${GONOSUMDB:-k8s.io,sigs.k8s.io}"
export GOFLAGS="-mod=mod -buildvcs=false"
started=$(date +%s)
log "building $K8S_COMMANDS into $CLUSTER_BIN (cold: several minutes)"
rm -f "$STAMP"
packages=()
for cmd in $K8S_COMMANDS; do packages+=("k8s.io/kubernetes/cmd/$cmd"); done
# Stamp the version go.mod pins (a module build otherwise reports v0.0.0-master), as upstream's release does.
K8S_VERSION="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' go.mod)"
[[ "$K8S_VERSION" =~ ^v([0-9]+)\.([0-9]+)\. ]] || die "go.mod: no 'require k8s.io/kubernetes vX.Y.Z' line"
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=${BASH_REMATCH[1]} -X $pkg.gitMinor=${BASH_REMATCH[2]}"
  ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
go build -ldflags "$ldflags" -o "$CLUSTER_BIN/" "${packages[@]}" >&2
# pause runs FROM scratch: no libc, so no cgo.
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$CLUSTER_BIN/pause" ./pause >&2
echo "$WANT" >"$STAMP"
log "built in $(( $(date +%s) - started ))s"
echo "$CLUSTER_BIN"
