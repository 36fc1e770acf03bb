# Settings and helpers shared by build.sh, up.sh, down.sh and verify.sh (sourced, not run).
# Every setting can be overridden from the environment; the defaults are what the tests use.

TEST_CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$TEST_CLUSTER_DIR/../.." && pwd)"
# ensure_debian_packages, wait_until, pid_alive (and the apt-get-once marker) come from the infra helpers.
# shellcheck source=../test-infra/lib.sh
source "$REPO_ROOT/tools/test-infra/lib.sh"

log() { printf '[test-cluster] %s\n' "$*" >&2; }
die() { printf '[test-cluster] error: %s\n' "$*" >&2; exit 1; }

# Where binaries are built once per machine (outside the repo: ~600 MB), and where a running cluster lives.
CLUSTER_CACHE="${TURBOLIFT_CLUSTER_CACHE:-/var/cache/turbolift-test-cluster}"
CLUSTER_BIN="$CLUSTER_CACHE/bin"
CLUSTER_STATE="${TURBOLIFT_CLUSTER_STATE:-/tmp/turbolift-test-cluster}"
KUBECONFIG_PATH="$CLUSTER_STATE/kubeconfig"

# The node's network: one Linux bridge whose address is the pods' gateway and the node's IP.
BRIDGE="${TURBOLIFT_CLUSTER_BRIDGE:-tlbr0}"
POD_CIDR="10.244.0.0/24"
POD_GATEWAY="10.244.0.1"
POD_PREFIX="10.244.0."
SERVICE_CIDR="10.96.0.0/24"
KUBERNETES_SERVICE_IP="10.96.0.1"
# The cluster DNS Service's ClusterIP (kubelet clusterDNS), in the range's static band (.1-.15), which
# the apiserver never hands out to a Service that asks for no particular address.
DNS_SERVICE_IP="10.96.0.10"
CLUSTER_DOMAIN="cluster.local"
NODE_NAME="${TURBOLIFT_CLUSTER_NODE_NAME:-turbolift-node}"
# iptables chain of our own that keeps pod traffic on the bridge (see up.sh).
EGRESS_CHAIN="TURBOLIFT-POD-EGRESS"

CONTAINERD_SOCKET="$CLUSTER_STATE/containerd/containerd.sock"
# Namespaces the cluster itself uses; every other namespace is a test's and down.sh deletes it.
SYSTEM_NAMESPACES="default kube-system kube-public kube-node-lease"

K8S_COMMANDS="kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy"
# metrics-server has its own Go module (its k8s.io libraries are a newer minor than the cluster's).
METRICS_SERVER_MODULE_DIR="$TEST_CLUSTER_DIR/metrics-server"
# CoreDNS too (a binary with only the plugins the cluster uses; k8s.io libraries of another minor).
COREDNS_MODULE_DIR="$TEST_CLUSTER_DIR/coredns"

# Processes up.sh started, one "name pid" per line, in start order.
PIDS_FILE="$CLUSTER_STATE/pids"

record_pid() { # name pid
  echo "$1 $2" >>"$PIDS_FILE"
}

recorded_pid() { # name -> pid (last recorded)
  [ -f "$PIDS_FILE" ] || return 0
  awk -v n="$1" '$1 == n { p = $2 } END { if (p) print p }' "$PIDS_FILE"
}

# stop_pid <name> <pid> <seconds>: SIGTERM, bounded wait, then SIGKILL.
stop_pid() {
  local name="$1" pid="$2" seconds="${3:-20}"
  pid_alive "$pid" || return 0
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$seconds" "$name stopped" bash -c "! kill -0 $pid 2>/dev/null"; then
    log "$name (pid $pid) still running after ${seconds}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 "$name killed" bash -c "! kill -0 $pid 2>/dev/null" || log "$name (pid $pid) did not die"
  fi
}

cluster_kubectl() { kubectl --kubeconfig "$KUBECONFIG_PATH" --request-timeout=10s "$@"; }

# The hash that decides whether the cached binaries are current: the module's pins, the pause
# program, the build script (its flags) and the Go toolchain that builds them.
build_inputs_hash() {
  { cat "$TEST_CLUSTER_DIR/go.mod" "$TEST_CLUSTER_DIR/go.sum" "$TEST_CLUSTER_DIR/pause/main.go" "$TEST_CLUSTER_DIR/build.sh"; go version; } \
    | sha256sum | cut -c1-64
}

# The same for metrics-server, stamped on its own: a change to one module does not rebuild the other.
metrics_server_inputs_hash() {
  { cat "$METRICS_SERVER_MODULE_DIR/go.mod" "$METRICS_SERVER_MODULE_DIR/go.sum" "$METRICS_SERVER_MODULE_DIR/tools.go" \
      "$TEST_CLUSTER_DIR/build.sh"; go version; } | sha256sum | cut -c1-64
}

# The same for CoreDNS.
coredns_inputs_hash() {
  { cat "$COREDNS_MODULE_DIR/go.mod" "$COREDNS_MODULE_DIR/go.sum" "$COREDNS_MODULE_DIR/main.go" \
      "$TEST_CLUSTER_DIR/build.sh"; go version; } | sha256sum | cut -c1-64
}

# cluster_dns_answers [server] [port]: the cluster DNS gives the kubernetes Service's ClusterIP for its
# name (by default asked at the DNS Service's ClusterIP, through kube-proxy's rules, as a pod asks).
cluster_dns_answers() {
  local server="${1:-$DNS_SERVICE_IP}" port="${2:-53}"
  node -e '
    const { Resolver } = require("dns").promises;
    const r = new Resolver({ timeout: 2000, tries: 1 });
    r.setServers([process.argv[1] + ":" + process.argv[2]]);
    r.resolve4(process.argv[3]).then(
      (a) => process.exit(a.includes(process.argv[4]) ? 0 : 1),
      () => process.exit(1));
  ' "$server" "$port" "kubernetes.default.svc.$CLUSTER_DOMAIN" "$KUBERNETES_SERVICE_IP" 2>/dev/null
}
