#!/usr/bin/env bash
# Checks a running test cluster end to end: a 2-replica Deployment of a small HTTP server (the test Node
# base image from the local registry) rolls out, each pod IP and the Service's ClusterIP answer from the
# host, a rolling update finishes, and `kubectl run` works in the default namespace. Cleans up after itself.
# Usage: bash tools/test-cluster/verify.sh   (after up.sh; the Node base image comes from tools/test-infra)
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

[ -f "$KUBECONFIG_PATH" ] || die "no cluster: $KUBECONFIG_PATH does not exist (run up.sh)"
REGISTRY="${TURBOLIFT_TEST_REGISTRY:-127.0.0.1:5000}"
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
IMAGE="$REGISTRY/${TURBOLIFT_TEST_BASE_IMAGE:-turbolift-test/node:$NODE_MAJOR}"
NS="turbolift-verify"
k() { cluster_kubectl "$@"; }
trap 'k delete namespace "$NS" --wait=false >/dev/null 2>&1 || true; k delete pod turbolift-verify-run --wait=false >/dev/null 2>&1 || true' EXIT

render() { # revision
  cat <<YAML
apiVersion: v1
kind: Namespace
metadata: { name: $NS }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: hello, namespace: $NS }
spec:
  replicas: 2
  selector: { matchLabels: { app: hello } }
  template:
    metadata: { labels: { app: hello } }
    spec:
      terminationGracePeriodSeconds: 2
      containers:
      - name: hello
        image: $IMAGE
        command: ["node", "-e", "const s = require('http').createServer((q, r) => r.end(require('os').hostname() + ' rev=' + process.env.REV)).listen(8080, '0.0.0.0'); process.on('SIGTERM', () => s.close(() => process.exit(0)))"]
        env: [{ name: REV, value: "$1" }]
        ports: [{ containerPort: 8080 }]
        readinessProbe: { httpGet: { path: /, port: 8080 }, periodSeconds: 1 }
---
apiVersion: v1
kind: Service
metadata: { name: hello, namespace: $NS }
spec:
  selector: { app: hello }
  ports: [{ port: 80, targetPort: 8080 }]
YAML
}

started=$(date +%s)
render 1 | k apply -f - >&2
k -n "$NS" rollout status deployment/hello --timeout=120s >&2
log "rollout 1 finished in $(( $(date +%s) - started ))s"

for ip in $(k -n "$NS" get pods -l app=hello -o jsonpath='{.items[*].status.podIP}'); do
  reply="$(curl -fsS --max-time 5 "http://$ip:8080/")" || die "pod IP $ip:8080 did not answer"
  log "pod $ip:8080 -> $reply"
done
CLUSTER_IP="$(k -n "$NS" get service hello -o jsonpath='{.spec.clusterIP}')"
# kube-proxy follows endpoint changes a moment after the rollout reports done: poll (bounded) until
# the ClusterIP has answered from both pods.
seen="" calls=0 deadline=$(( $(date +%s) + 20 ))
while [ "$(sort -u <<<"$seen" | grep -c .)" -lt 2 ]; do
  [ "$(date +%s)" -ge "$deadline" ] && die "ClusterIP $CLUSTER_IP:80 did not reach both pods within 20s ($calls calls)"
  calls=$((calls + 1))
  reply="$(curl -fsS --max-time 2 "http://$CLUSTER_IP/" 2>/dev/null)" || { sleep 0.2; continue; }
  seen+="${reply%% *}"$'\n'
done
log "ClusterIP $CLUSTER_IP:80 reached both pods ($calls calls)"

started=$(date +%s)
render 2 | k apply -f - >&2
k -n "$NS" rollout status deployment/hello --timeout=120s >&2
log "rolling update finished in $(( $(date +%s) - started ))s"
deadline=$(( $(date +%s) + 20 )) waited_from=$(date +%s%N)
until reply="$(curl -fsS --max-time 2 "http://$CLUSTER_IP/" 2>/dev/null)" && [[ "$reply" == *rev=2 ]]; do
  [ "$(date +%s)" -ge "$deadline" ] && die "ClusterIP $CLUSTER_IP did not answer from an updated pod within 20s of the rollout"
  sleep 0.1
done
log "ClusterIP after update -> $reply ($(( ($(date +%s%N) - waited_from) / 1000000 )) ms after rollout status returned)"

k run turbolift-verify-run --image="$IMAGE" --restart=Never --command -- node -e 'console.log("ran")' >&2
for _ in $(seq 1 60); do
  phase="$(k get pod turbolift-verify-run -o jsonpath='{.status.phase}')"
  [ "$phase" = Succeeded ] || [ "$phase" = Failed ] && break
  sleep 1
done
[ "$phase" = Succeeded ] || die "kubectl run pod ended in phase '$phase'"
[ "$(k logs turbolift-verify-run)" = ran ] || die "kubectl logs did not return the pod's output"
log "kubectl run + kubectl logs work"
log "verify: all checks passed"
