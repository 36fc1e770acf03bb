#!/usr/bin/env bash
# Stops the cluster up.sh started and puts the machine back as it was, so that the next up.sh starts clean:
#   test namespaces deleted (their pods stopped by the kubelet), metrics-server, CoreDNS, kubelet and kube-proxy stopped,
#   `kube-proxy --cleanup`, whatever the private containerd still runs killed, containerd, etcd and the
#   control plane stopped (only the PIDs up.sh recorded), pod network namespaces and the bridge deleted,
#   KUBE-* chains (and the jumps to them) removed from iptables and ip6tables, the state folder removed.
# The Docker engine and registry are tools/test-infra's; they are left alone. Safe to run twice.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

NAMESPACE_WAIT_S="${TURBOLIFT_CLUSTER_NAMESPACE_WAIT_S:-60}"
[ "$(id -u)" = 0 ] || die "down.sh must run as root"
if [ "${TURBOLIFT_CLUSTER_LOCK_HELD:-0}" != 1 ]; then
  mkdir -p "$(dirname "$CLUSTER_STATE")"
  exec 9>"$CLUSTER_STATE.lock"
  flock -w 900 9 || die "another up.sh/down.sh holds $CLUSTER_STATE.lock for over 15 minutes"
fi

ctr_k8s() { ctr --address "$CONTAINERD_SOCKET" --namespace k8s.io "$@"; }
containerd_answers() { [ -S "$CONTAINERD_SOCKET" ] && ctr --address "$CONTAINERD_SOCKET" version >/dev/null 2>&1; }
no_running_tasks() { ! ctr_k8s tasks ls 2>/dev/null | awk 'NR > 1 && $3 == "RUNNING"' | grep -q .; }
task_stopped() { ! ctr_k8s tasks ls 2>/dev/null | awk -v id="$1" '$1 == id && $3 == "RUNNING"' | grep -q .; }

# ---- 1. let the kubelet stop the tests' pods the normal way (network torn down through CNI) ------------
if [ -f "$KUBECONFIG_PATH" ] && pid_alive "$(recorded_pid kubelet)" && cluster_kubectl get --raw /readyz >/dev/null 2>&1; then
  test_namespaces="$(cluster_kubectl get namespaces -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' \
    | grep -vxF -f <(tr ' ' '\n' <<<"$SYSTEM_NAMESPACES") || true)"
  if [ -n "$test_namespaces" ]; then
    log "deleting test namespaces: $(echo $test_namespaces)"
    # shellcheck disable=SC2086
    cluster_kubectl delete namespace $test_namespaces --wait=false >&2 || true
  fi
  # Workloads left in the system namespaces go too, so that no pod outlives the kubelet.
  cluster_kubectl delete deployments,statefulsets,daemonsets,jobs,replicasets --all --all-namespaces \
    --wait=false >/dev/null 2>&1 || true
  # The cluster is going away: a second delete shortens every pod's grace period to 1 s, so that
  # servers that ignore SIGTERM (a node PID 1 without a handler) do not hold this up for 30 s each.
  cluster_kubectl delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
  if containerd_answers; then
    wait_until "$NAMESPACE_WAIT_S" "pods stopped" no_running_tasks \
      || log "some pods still run after ${NAMESPACE_WAIT_S}s; killing them through containerd"
  fi
fi

# ---- 2. the node ----------------------------------------------------------------------------------------
# metrics-server first: it scrapes the kubelet. Its API objects (and CoreDNS's) live in etcd, removed with
# the state folder.
for name in metrics-server coredns kube-proxy kubelet; do stop_pid "$name" "$(recorded_pid "$name")" 20; done

BIN="$CLUSTER_BIN"
if [ -x "$BIN/kube-proxy" ]; then
  "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 \
    || log "kube-proxy --cleanup exited non-zero (it also tries nftables, and the nft tool is absent); chains are removed below"
fi

if containerd_answers; then
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do
    ctr_k8s tasks kill --all --signal SIGKILL "$id" >/dev/null 2>&1 || true
  done
  for id in $(ctr_k8s tasks ls -q 2>/dev/null); do
    wait_until 10 "task $id stopped" task_stopped "$id" || true
    ctr_k8s tasks delete --force "$id" >/dev/null 2>&1 || true
  done
  for id in $(ctr_k8s containers ls -q 2>/dev/null); do
    ctr_k8s containers delete "$id" >/dev/null 2>&1 || true
  done
fi
stop_pid containerd "$(recorded_pid containerd)" 20
# Shims of our containerd outlive it by design; they are ours if they talk to our socket.
for pid in $(pgrep -f "containerd-shim.* -address $CONTAINERD_SOCKET( |$)" || true); do
  stop_pid containerd-shim "$pid" 10
done

# ---- 3. the control plane -------------------------------------------------------------------------------
for name in kube-scheduler kube-controller-manager kube-apiserver etcd; do
  stop_pid "$name" "$(recorded_pid "$name")" 30
done

# ---- 4. mounts, pod network namespaces, the bridge ------------------------------------------------------
# Pod sandboxes' namespaces live in /run/netns (containerd's fixed place); ours are the ones holding an
# address in the pod range.
for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^cni-/ { print $1 }'); do
  if ip -n "$ns" -4 -o addr show 2>/dev/null | grep -q " inet ${POD_PREFIX//./\\.}"; then
    ip netns delete "$ns" 2>/dev/null && log "deleted pod network namespace $ns" || true
  fi
done
if [ -d "$CLUSTER_STATE" ]; then
  # Deepest first: volumes inside pod folders, rootfs and shm mounts inside containerd's state.
  { findmnt -rn -o TARGET | grep -F "$CLUSTER_STATE/" || true; } | sort -r | while read -r target; do
    umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || log "could not unmount $target"
  done
fi
if ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link delete "$BRIDGE" && log "deleted bridge $BRIDGE"
fi

# cgroups runc made for the pods under containerd's k8s.io namespace (empty once the pods are gone).
for dir in /sys/fs/cgroup/*/k8s.io /sys/fs/cgroup/unified/k8s.io; do
  [ -d "$dir" ] || continue
  find "$dir" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null || true
  rmdir "$dir" 2>/dev/null || true
done

# ---- 5. iptables ----------------------------------------------------------------------------------------
# KUBE-* chains (kube-proxy's and the kubelet's: KUBE-FIREWALL, the canaries, KUBE-MARK-MASQ, ...) and
# up.sh's own egress chain: first the jumps to them from the built-in chains, then the chains.
remove_chains() { # iptables-binary table
  local ipt="$1" table="$2" rule chain
  "$ipt" -t "$table" -S >/dev/null 2>&1 || return 0
  { "$ipt" -t "$table" -S | grep -E "^-A (INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) .*-j (KUBE-|$EGRESS_CHAIN)" || true; } \
    | while read -r rule; do
        eval "\"$ipt\" -t \"$table\" -D ${rule#-A }" 2>/dev/null || true
      done
  for chain in $("$ipt" -t "$table" -S | awk -v own="$EGRESS_CHAIN" '$1 == "-N" && ($2 ~ /^KUBE-/ || $2 == own) { print $2 }'); do
    "$ipt" -t "$table" -F "$chain" 2>/dev/null || true
  done
  for chain in $("$ipt" -t "$table" -S | awk -v own="$EGRESS_CHAIN" '$1 == "-N" && ($2 ~ /^KUBE-/ || $2 == own) { print $2 }'); do
    "$ipt" -t "$table" -X "$chain" 2>/dev/null || log "could not delete $ipt -t $table chain $chain"
  done
}
for ipt in iptables ip6tables; do
  command -v "$ipt" >/dev/null || continue
  for table in filter nat mangle; do remove_chains "$ipt" "$table"; done
done

# ---- 6. state -------------------------------------------------------------------------------------------
if [ -d "$CLUSTER_STATE" ]; then
  if [ -n "${TURBOLIFT_CLUSTER_KEEP_LOGS:-}" ] && [ -d "$CLUSTER_STATE/logs" ]; then
    rm -rf "$TURBOLIFT_CLUSTER_KEEP_LOGS" && cp -r "$CLUSTER_STATE/logs" "$TURBOLIFT_CLUSTER_KEEP_LOGS"
  fi
  rm -rf "$CLUSTER_STATE"
  log "removed $CLUSTER_STATE"
fi
log "cluster stopped"
