#!/usr/bin/env bash
# Checks a running test cluster end to end: a 2-replica Deployment of a small HTTP server (the test Node
# base image from the local registry) rolls out, each pod IP and the Service's ClusterIP answer from the
# host, a rolling update finishes, `kubectl run` works in the default namespace, a pod resolves the
# cluster's names through the cluster DNS (and calls the Service by name) but no outside name, and reaches
# no outside address, `kubectl top` reports the
# node and a pod, and a CPU-bound Deployment is scaled from 1 to 2 replicas by a HorizontalPodAutoscaler on
# CPU utilisation (metrics-server behind the aggregation layer). Cleans up after itself.
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

# A busy loop capped at 200m with a 100m request: 200 % of its request, so an HPA aiming at 50 % must
# scale it up. Started early, so that metrics-server has scraped it by the time the HPA is checked.
# No `replicas` in the manifest: the HPA owns that field.
render_burn() {
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: { name: burn, namespace: $NS }
spec:
  selector: { matchLabels: { app: burn } }
  template:
    metadata: { labels: { app: burn } }
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: $IMAGE
        command: ["node", "-e", "for (;;) {}"]
        resources:
          requests: { cpu: 100m }
          limits: { cpu: 200m }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: burn, namespace: $NS }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: burn }
  minReplicas: 1
  maxReplicas: 2
  metrics:
  - type: Resource
    resource: { name: cpu, target: { type: Utilization, averageUtilization: 50 } }
YAML
}

started=$(date +%s)
render 1 | k apply -f - >&2
k -n "$NS" rollout status deployment/hello --timeout=120s >&2
log "rollout 1 finished in $(( $(date +%s) - started ))s"
render_burn | k apply -f - >&2
burn_started=$(date +%s)

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

# ---- cluster DNS ---------------------------------------------------------------------------------------
# A pod with the default dnsPolicy (ClusterFirst) looks names up as any program does (getaddrinfo through
# its resolv.conf, search domains and all): the kubernetes Service, this namespace's Service by its short
# <svc>.<ns>.svc name (then an HTTP call to it by that name), an outside name (must fail at once: the
# cluster DNS forwards nothing) and a TCP connection to an outside address (must not connect).
DNS_PROBE='
const dns = require("dns").promises, net = require("net"), http = require("http");
const [svcName] = process.argv.slice(1);
const time = async (f) => { const t = Date.now(); try { return [await f(), Date.now() - t]; } catch (e) { return ["ERR:" + (e.code || e.message), Date.now() - t]; } };
(async () => {
  for (const name of ["kubernetes.default.svc.cluster.local", svcName, "example.com"]) {
    const [r, ms] = await time(async () => (await dns.lookup(name, { family: 4 })).address);
    console.log("lookup", name, r, ms);
  }
  const [body, ms] = await time(() => new Promise((ok, ko) => http.get("http://" + svcName + "/", (res) => {
    let b = ""; res.on("data", (c) => (b += c)); res.on("end", () => ok(b.split(" ")[1]));
  }).on("error", ko)));
  console.log("http", svcName, body, ms);
  const [conn, cms] = await time(() => new Promise((ok, ko) => {
    const s = net.connect({ host: "1.1.1.1", port: 443, timeout: 3000 }, () => { s.destroy(); ok("connected"); });
    s.on("timeout", () => { s.destroy(); ko(Object.assign(new Error("timeout"), { code: "TIMEOUT" })); }).on("error", ko);
  }));
  console.log("connect", "1.1.1.1:443", conn, cms);
})();'
k -n "$NS" run dns-probe --image="$IMAGE" --restart=Never --command -- node -e "$DNS_PROBE" "hello.$NS.svc" >&2
deadline=$(( $(date +%s) + 60 ))
until phase="$(k -n "$NS" get pod dns-probe -o jsonpath='{.status.phase}')" && { [ "$phase" = Succeeded ] || [ "$phase" = Failed ]; }; do
  [ "$(date +%s)" -ge "$deadline" ] && die "the DNS probe pod did not finish within 60s (phase '$phase')"
  sleep 1
done
probe="$(k -n "$NS" logs dns-probe)"
while read -r line; do log "pod: $line"; done <<<"$probe"
[ "$phase" = Succeeded ] || die "the DNS probe pod ended in phase '$phase'"
expect() { # pattern what
  grep -qE "$1" <<<"$probe" || die "DNS probe: $2"
}
expect "^lookup kubernetes\.default\.svc\.cluster\.local ${KUBERNETES_SERVICE_IP//./\.} " \
  "kubernetes.default.svc.cluster.local did not resolve to $KUBERNETES_SERVICE_IP"
expect "^lookup hello\.$NS\.svc ${CLUSTER_IP//./\.} " "hello.$NS.svc did not resolve to its ClusterIP $CLUSTER_IP"
expect "^http hello\.$NS\.svc rev=2 " "http://hello.$NS.svc/ did not answer from an updated pod"
# Refused by the cluster DNS at once, never passed on: under the resolver's 5 s timeout for a lost query.
expect "^lookup example\.com ERR:[A-Z_]+ ([0-9]{1,3}|[1-4][0-9]{3})$" "example.com resolved, or took 5 s or more to fail"
expect "^connect 1\.1\.1\.1:443 ERR:" "a pod connected to an address outside the cluster"
log "cluster DNS: a pod resolves kubernetes.default.svc.cluster.local and hello.$NS.svc and calls it by name; example.com fails at once; no outside connection"

# ---- resource metrics ----------------------------------------------------------------------------------
top_line="$(k top node "$NODE_NAME" --no-headers)" || die "kubectl top node $NODE_NAME failed"
log "kubectl top node -> $(echo $top_line)"
# A pod's CPU usage is a rate: metrics-server serves it after two scrapes of the kubelet that include the pod.
deadline=$(( $(date +%s) + 60 )) waited_from=$(date +%s)
until top_line="$(k -n "$NS" top pod -l app=hello --no-headers 2>/dev/null | grep -E '^hello-[^ ]+ +[0-9]+m +[0-9]+Mi' | head -n 1)" \
  && [ -n "$top_line" ]; do
  [ "$(date +%s)" -ge "$deadline" ] && die "kubectl top pod reported no CPU/memory for a hello pod within 60s"
  sleep 1
done
log "kubectl top pod -> $(echo $top_line) ($(( $(date +%s) - waited_from ))s of waiting)"

deadline=$(( burn_started + 180 ))
until [ "$(k -n "$NS" get deployment burn -o jsonpath='{.spec.replicas}' 2>/dev/null)" = 2 ]; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    k -n "$NS" describe hpa burn >&2 || true
    die "the HPA did not scale deployment/burn to 2 replicas within 180s"
  fi
  sleep 1
done
utilisation="$(k -n "$NS" get hpa burn -o jsonpath='{.status.currentMetrics[0].resource.current.averageUtilization}')"
log "HPA scaled deployment/burn 1 -> 2 at ${utilisation:-?}% CPU of request, $(( $(date +%s) - burn_started ))s after it was created"
k -n "$NS" delete deployment burn --wait=false >/dev/null
log "verify: all checks passed"
