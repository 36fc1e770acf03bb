#!/usr/bin/env bash
# Starts a real single-node Kubernetes cluster for the tests, on this machine only:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler on 127.0.0.1 (free ports),
#   a private containerd, a Linux bridge ($TURBOLIFT_CLUSTER_BRIDGE, 10.244.0.1/24) with a CNI config,
#   a kubelet (node IP 10.244.0.1) and kube-proxy (iptables mode): pods really run and serve, and
#   Service ClusterIPs (10.96.0.0/24) answer from the host;
#   CoreDNS on 10.244.0.1 behind the Service kube-system/kube-dns (10.96.0.10, the kubelet's clusterDNS):
#   pods resolve cluster.local names and nothing else;
#   metrics-server on 10.244.0.1 behind the apiserver's aggregation layer: `kubectl top` and CPU-based
#   HorizontalPodAutoscalers work, and node metrics are served before this script returns.
# Docker engine + registry come from tools/test-infra/up.sh (the pause image is pushed there).
# Idempotent: a healthy running cluster is reused; a broken one is torn down (down.sh) and started again.
# stdout: exactly one line, the kubeconfig path. Progress and errors go to stderr.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

READY_WAIT_S="${TURBOLIFT_CLUSTER_READY_WAIT_S:-120}"
METRICS_WAIT_S="${TURBOLIFT_CLUSTER_METRICS_WAIT_S:-90}"
# How often metrics-server scrapes the kubelet (its minimum is 10s): short, so that an HPA reacts quickly.
METRIC_RESOLUTION="${TURBOLIFT_CLUSTER_METRIC_RESOLUTION:-10s}"
DNS_WAIT_S="${TURBOLIFT_CLUSTER_DNS_WAIT_S:-60}"
[ "$(id -u)" = 0 ] || die "up.sh must run as root (it creates a bridge, iptables rules and runs a kubelet)"
started_at=$(date +%s)

mkdir -p "$(dirname "$CLUSTER_STATE")"
exec 9>"$CLUSTER_STATE.lock"
flock -w 900 9 || die "another up.sh/down.sh holds $CLUSTER_STATE.lock for over 15 minutes"

# ---- reuse a healthy cluster ----------------------------------------------------------------------------
node_ready() {
  [ "$(cluster_kubectl get node "$NODE_NAME" \
    -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
# The resource metrics API answers with this node's usage (metrics-server scraped its kubelet twice).
node_metrics_served() {
  cluster_kubectl get --raw "/apis/metrics.k8s.io/v1beta1/nodes/$NODE_NAME" 2>/dev/null \
    | grep -q '"usage":{"cpu":"[0-9]'
}
command -v node >/dev/null || die "node is not on PATH (up.sh asks the cluster DNS with it)"
if [ -e "$CLUSTER_STATE" ]; then
  if [ -f "$KUBECONFIG_PATH" ] && cluster_kubectl get --raw /readyz >/dev/null 2>&1 && node_ready \
    && node_metrics_served && cluster_dns_answers; then
    log "cluster already running (state: $CLUSTER_STATE)"
    echo "$KUBECONFIG_PATH"
    exit 0
  fi
  log "found leftovers of a cluster in $CLUSTER_STATE that is not healthy; tearing them down first"
  TURBOLIFT_CLUSTER_LOCK_HELD=1 bash "$TEST_CLUSTER_DIR/down.sh" >&2
fi
if ip link show "$BRIDGE" >/dev/null 2>&1; then
  die "network interface $BRIDGE already exists; run down.sh (or set TURBOLIFT_CLUSTER_BRIDGE to another name)"
fi

mkdir -p "$CLUSTER_STATE"/{logs,pki,etcd,kubelet,cni/net.d,cni/ipam,containerd}
: >"$PIDS_FILE"
# A failed start leaves nothing running: down.sh stops what was started, and the logs are kept aside.
on_exit() {
  local status=$?
  [ "$status" -eq 0 ] && return 0
  log "start failed; stopping what was started (logs kept in $CLUSTER_STATE.failed-logs)"
  TURBOLIFT_CLUSTER_LOCK_HELD=1 TURBOLIFT_CLUSTER_KEEP_LOGS="$CLUSTER_STATE.failed-logs" \
    bash "$TEST_CLUSTER_DIR/down.sh" >&2 || true
  exit "$status"
}
if [ "${TURBOLIFT_CLUSTER_KEEP_ON_FAILURE:-0}" != 1 ]; then trap on_exit EXIT; fi
LOGS="$CLUSTER_STATE/logs"
PKI="$CLUSTER_STATE/pki"

# ---- packages, engine + registry, binaries --------------------------------------------------------------
# containerd (the node's runtime) comes with docker.io.
ensure_debian_packages etcd-server containernetworking-plugins iptables docker.io
for tool in etcd containerd ctr iptables ip6tables openssl kubectl; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH"
done
[ -x /usr/lib/cni/bridge ] || die "/usr/lib/cni/bridge is missing (package containernetworking-plugins)"

log "starting Docker engine and registry (tools/test-infra/up.sh)"
eval "$(bash "$REPO_ROOT/tools/test-infra/up.sh")"
REGISTRY="${TURBOLIFT_TEST_REGISTRY:?tools/test-infra/up.sh did not export TURBOLIFT_TEST_REGISTRY}"

BIN="$(bash "$TEST_CLUSTER_DIR/build.sh")"

# ---- pause image ----------------------------------------------------------------------------------------
# Tagged by the binary's hash: the same program always gives the same image, and a changed one a new tag.
PAUSE_TAG="$(sha256sum "$BIN/pause" | cut -c1-16)"
PAUSE_IMAGE="$REGISTRY/turbolift-test/pause:$PAUSE_TAG"
registry_has() { # repo tag
  curl -fs -o /dev/null --max-time 5 -I \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REGISTRY/v2/$1/manifests/$2"
}
if registry_has turbolift-test/pause "$PAUSE_TAG"; then
  log "registry has $PAUSE_IMAGE"
else
  log "building and pushing $PAUSE_IMAGE"
  context="$CLUSTER_STATE/pause-image"
  mkdir -p "$context"
  cp "$BIN/pause" "$context/pause"
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$context/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q -t "$PAUSE_IMAGE" "$context" >"$LOGS/pause-build.log" 2>&1 \
    || { tail -n 5 "$LOGS/pause-build.log" >&2; die "docker build of the pause image failed"; }
  docker push "$PAUSE_IMAGE" >"$LOGS/pause-push.log" 2>&1 \
    || { tail -n 5 "$LOGS/pause-push.log" >&2; die "docker push $PAUSE_IMAGE failed"; }
  rm -rf "$context"
fi

# ---- ports ----------------------------------------------------------------------------------------------
# Below the kernel's ephemeral range, so outgoing connections cannot take them between pick and bind.
declare -A PORT=()
port_taken() { ss -Htuan "sport = :$1" | grep -q . ; }
pick_port() { # name
  local p tries=0
  while :; do
    p=$(( 20000 + RANDOM % 12000 ))
    tries=$((tries + 1)); [ "$tries" -gt 200 ] && die "found no free TCP port in 20000-31999"
    port_taken "$p" && continue
    [[ " ${PORT[*]} " == *" $p "* ]] && continue
    PORT[$1]=$p; return 0
  done
}
for name in etcd_client etcd_peer apiserver controller_manager scheduler kubelet kubelet_healthz \
  proxy_healthz proxy_metrics metrics_server coredns coredns_ready coredns_health; do pick_port "$name"; done
declare -p PORT >"$CLUSTER_STATE/ports.sh"

# ---- certificates and keys ------------------------------------------------------------------------------
log "creating certificates and keys in $PKI"
openssl_quiet() { openssl "$@" >>"$LOGS/openssl.log" 2>&1 || die "openssl $1 failed (log: $LOGS/openssl.log)"; }
openssl_quiet req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 7 \
  -subj "/CN=turbolift-test-cluster-ca"
# The aggregation layer's own CA: extension apiservers trust X-Remote-User headers only on connections
# with a client certificate from it, so it must not be the cluster CA (whose client certs are users).
openssl_quiet req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/front-proxy-ca.key" -out "$PKI/front-proxy-ca.crt" \
  -days 7 -subj "/CN=turbolift-test-cluster-front-proxy-ca"
sign_cert() { # name subject extfile-content [ca-name]
  local ca="${4:-ca}"
  openssl_quiet req -newkey rsa:2048 -nodes -keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "$2"
  printf '%s\n' "$3" >"$PKI/$1.ext"
  openssl_quiet x509 -req -in "$PKI/$1.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -out "$PKI/$1.crt" -days 7 -extfile "$PKI/$1.ext"
}
sign_cert apiserver "/CN=kube-apiserver" \
  "subjectAltName=IP:127.0.0.1,IP:$KUBERNETES_SERVICE_IP,IP:$POD_GATEWAY,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth"
# The apiserver's identity towards the kubelet (logs, exec, port-forward).
sign_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
# The aggregator's identity towards extension apiservers (metrics-server); its CN is the one allowed name.
sign_cert front-proxy-client "/CN=front-proxy-client" "extendedKeyUsage=clientAuth" front-proxy-ca
# metrics-server's serving certificate, for the name the aggregator verifies (<service>.<namespace>.svc).
sign_cert metrics-server "/CN=metrics-server" \
  "subjectAltName=DNS:metrics-server.kube-system.svc,IP:$POD_GATEWAY
extendedKeyUsage=serverAuth"
openssl_quiet genrsa -out "$PKI/sa.key" 2048
openssl_quiet rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
ADMIN_TOKEN="$(openssl rand -hex 24)"
echo "$ADMIN_TOKEN,admin,admin,system:masters" >"$PKI/tokens.csv"
chmod 600 "$PKI"/*.key "$PKI/tokens.csv"

# A kubeconfig for this cluster: file, context name, user name, bearer token.
write_kubeconfig() {
  cat >"$1" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: turbolift-test
  cluster:
    server: https://127.0.0.1:${PORT[apiserver]}
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $3
  user:
    token: $4
contexts:
- name: $2
  context:
    cluster: turbolift-test
    user: $3
current-context: $2
YAML
  chmod 600 "$1"
}
write_kubeconfig "$KUBECONFIG_PATH" turbolift-test admin "$ADMIN_TOKEN"

# ---- process helpers ------------------------------------------------------------------------------------
start_process() { # name command...
  local name="$1"; shift
  # 9>&-: the daemons must not inherit the lock, or down.sh could never take it.
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null 9>&- 8>&- &
  record_pid "$name" "$!"
  log "started $name (pid $!, log: $LOGS/$name.log)"
}
await() { # name seconds check...
  local name="$1" seconds="$2"; shift 2
  local pid; pid="$(recorded_pid "$name")"
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$pid" ] && ! pid_alive "$pid"; then
      tail -n 20 "$LOGS/$name.log" >&2 || true
      die "$name exited (log: $LOGS/$name.log)"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 20 "$LOGS/$name.log" >&2 || true
      die "$name not ready within ${seconds}s (log: $LOGS/$name.log)"
    fi
    sleep 0.5
  done
  log "$name is ready"
}
https_ok() { curl -fsSk --max-time 2 -o /dev/null "https://127.0.0.1:$1$2"; }

# ---- etcd and the control plane -------------------------------------------------------------------------
start_process etcd etcd --name turbolift-test --data-dir "$CLUSTER_STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:${PORT[etcd_client]}" \
  --advertise-client-urls "http://127.0.0.1:${PORT[etcd_client]}" \
  --listen-peer-urls "http://127.0.0.1:${PORT[etcd_peer]}" \
  --initial-advertise-peer-urls "http://127.0.0.1:${PORT[etcd_peer]}" \
  --initial-cluster "turbolift-test=http://127.0.0.1:${PORT[etcd_peer]}"
await etcd 30 curl -fsS --max-time 2 "http://127.0.0.1:${PORT[etcd_client]}/health"

# The bridge exists before the apiserver starts: its address is what the apiserver advertises.
log "creating bridge $BRIDGE ($POD_GATEWAY/24)"
ip link add "$BRIDGE" type bridge
ip addr add "$POD_GATEWAY/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
# Service IPs route onto the bridge: a call to a ClusterIP that kube-proxy has no rule for stays on this
# machine instead of following the default route out of it.
ip route add "$SERVICE_CIDR" dev "$BRIDGE" src "$POD_GATEWAY"
# Pods may talk to each other, to Service IPs and to the host, never beyond: forwarded traffic that
# enters from the bridge and would leave through another interface is dropped.
iptables -N "$EGRESS_CHAIN"
iptables -A "$EGRESS_CHAIN" -i "$BRIDGE" ! -o "$BRIDGE" -j DROP
iptables -I FORWARD 1 -j "$EGRESS_CHAIN"

start_process kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:${PORT[etcd_client]}" \
  --bind-address 127.0.0.1 --advertise-address "$POD_GATEWAY" --secure-port "${PORT[apiserver]}" \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/ca.crt" \
  --token-auth-file "$PKI/tokens.csv" \
  --authorization-mode RBAC \
  --service-account-issuer https://kubernetes.default.svc \
  --service-account-key-file "$PKI/sa.pub" \
  --service-account-signing-key-file "$PKI/sa.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types InternalIP \
  --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" \
  --requestheader-allowed-names front-proxy-client \
  --requestheader-username-headers X-Remote-User \
  --requestheader-group-headers X-Remote-Group \
  --requestheader-extra-headers-prefix X-Remote-Extra- \
  --proxy-client-cert-file "$PKI/front-proxy-client.crt" \
  --proxy-client-key-file "$PKI/front-proxy-client.key" \
  --enable-aggregator-routing=true \
  --allow-privileged=true \
  --profiling=false \
  --cert-dir "$PKI/apiserver-generated"
await kube-apiserver 90 cluster_kubectl get --raw /readyz

start_process kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig "$KUBECONFIG_PATH" \
  --authentication-kubeconfig "$KUBECONFIG_PATH" --authorization-kubeconfig "$KUBECONFIG_PATH" \
  --bind-address 127.0.0.1 --secure-port "${PORT[controller_manager]}" \
  --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --leader-elect=false --controllers '*' --use-service-account-credentials=false \
  --profiling=false
start_process kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig "$KUBECONFIG_PATH" \
  --authentication-kubeconfig "$KUBECONFIG_PATH" --authorization-kubeconfig "$KUBECONFIG_PATH" \
  --bind-address 127.0.0.1 --secure-port "${PORT[scheduler]}" \
  --leader-elect=false --profiling=false
await kube-controller-manager 60 https_ok "${PORT[controller_manager]}" /healthz
await kube-scheduler 60 https_ok "${PORT[scheduler]}" /healthz

# ---- the node: containerd, CNI, kubelet, kube-proxy -----------------------------------------------------
CTRD="$CLUSTER_STATE/containerd"
cat >"$CTRD/config.toml" <<TOML
version = 2
root = "$CTRD/root"
state = "$CTRD/state"

[grpc]
  address = "$CONTAINERD_SOCKET"
[ttrpc]
  address = "$CONTAINERD_SOCKET.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # These machines refuse to lower oom_score_adj, even for root; without this every pod fails with
  # "can't get final child's PID from pipe".
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CLUSTER_STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."$REGISTRY"]
    endpoint = ["http://$REGISTRY"]
  # Other loopback registries (tools/test-infra's authenticated one, 127.0.0.1:5001) need no entry: for localhost
  # and 127.0.0.0/8 containerd's default endpoint is plain http, so a running cluster pulls from a new one as is.
  # Credentials come with each pull from the kubelet (the pod's imagePullSecrets), never from this file.
TOML
start_process containerd containerd --config "$CTRD/config.toml"
await containerd 30 ctr --address "$CONTAINERD_SOCKET" version

cat >"$CLUSTER_STATE/cni/net.d/10-turbolift.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "turbolift-test",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CLUSTER_STATE/cni/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR", "gateway": "$POD_GATEWAY" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "loopback" }
  ]
}
JSON

cat >"$CLUSTER_STATE/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# The kubelet's API listens on the bridge address (the node IP the apiserver dials for logs/exec);
# only clients with a certificate from this cluster's CA, authorised by the apiserver, get in.
address: $POD_GATEWAY
port: ${PORT[kubelet]}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${PORT[kubelet_healthz]}
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $PKI/ca.crt
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$CONTAINERD_SOCKET
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
localStorageCapacityIsolation: false
evictionHard: {}
# Pods (dnsPolicy ClusterFirst) get the cluster DNS Service as their only nameserver and the cluster's
# search domains; nothing of the host's resolv.conf, so they cannot reach the host's resolvers.
resolvConf: ""
clusterDNS: ["$DNS_SERVICE_IP"]
clusterDomain: $CLUSTER_DOMAIN
serializeImagePulls: false
registerNode: true
YAML
start_process kubelet "$BIN/kubelet" \
  --config "$CLUSTER_STATE/kubelet/config.yaml" \
  --kubeconfig "$KUBECONFIG_PATH" \
  --hostname-override "$NODE_NAME" --node-ip "$POD_GATEWAY" \
  --root-dir "$CLUSTER_STATE/kubelet" --cert-dir "$CLUSTER_STATE/kubelet/pki"

cat >"$CLUSTER_STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $KUBECONFIG_PATH
mode: iptables
hostnameOverride: $NODE_NAME
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:${PORT[proxy_healthz]}
metricsBindAddress: 127.0.0.1:${PORT[proxy_metrics]}
clusterCIDR: $POD_CIDR
# NodePorts only on the bridge address (not on the machine's external interfaces, nor on loopback,
# which would need route_localnet).
nodePortAddresses: ["$POD_GATEWAY/32"]
iptables:
  localhostNodePorts: false
  # Apply every endpoint change at once (default: at most one sync per second): tests call a
  # ClusterIP right after a rollout, and one small node has no rule churn to batch.
  minSyncPeriod: 0s
# Leave the host's conntrack sysctls alone.
conntrack:
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
YAML
await kubelet "$READY_WAIT_S" node_ready
# After the Node exists: kube-proxy reads its addresses once at start.
start_process kube-proxy "$BIN/kube-proxy" --config "$CLUSTER_STATE/kube-proxy.yaml"
await kube-proxy 60 curl -fsS --max-time 2 "http://127.0.0.1:${PORT[proxy_healthz]}/healthz"
# Pods can only be created once the namespace has its default ServiceAccount (token controller).
await kube-controller-manager 60 cluster_kubectl -n default get serviceaccount default

# ---- cluster DNS: CoreDNS behind kube-system/kube-dns --------------------------------------------------
# A host process like metrics-server (no image to build and push), on the bridge address: the Endpoints
# address of the Service at the kubelet's clusterDNS, so pods reach it as on any cluster, through
# kube-proxy's rules for the ClusterIP. It serves cluster.local (and reverse names) from the API and
# nothing else: the binary has no forward plugin, and a name in no zone below is answered REFUSED.
DNS="$CLUSTER_STATE/coredns"
mkdir -p "$DNS"
log "registering CoreDNS (RBAC, Service kube-dns $DNS_SERVICE_IP, Endpoints $POD_GATEWAY:${PORT[coredns]})"
sed -e "s|@DNS_SERVICE_IP@|$DNS_SERVICE_IP|g" -e "s|@COREDNS_ADDRESS@|$POD_GATEWAY|g" \
  -e "s|@COREDNS_PORT@|${PORT[coredns]}|g" "$TEST_CLUSTER_DIR/coredns.yaml" >"$DNS/objects.yaml"
cluster_kubectl apply -f "$DNS/objects.yaml" >"$LOGS/coredns-apply.log" 2>&1 \
  || { cat "$LOGS/coredns-apply.log" >&2; die "kubectl apply of coredns.yaml failed"; }
DNS_TOKEN="$(cluster_kubectl -n kube-system create token coredns --duration=168h)" \
  || die "could not create a token for kube-system/coredns"
write_kubeconfig "$DNS/kubeconfig" coredns coredns "$DNS_TOKEN"
cat >"$DNS/Corefile" <<COREFILE
$CLUSTER_DOMAIN:${PORT[coredns]} in-addr.arpa:${PORT[coredns]} ip6.arpa:${PORT[coredns]} {
    bind $POD_GATEWAY
    errors
    log
    ready 127.0.0.1:${PORT[coredns_ready]}
    health 127.0.0.1:${PORT[coredns_health]}
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $DNS/kubeconfig coredns
    }
}
COREFILE
start_process coredns "$BIN/coredns" -conf "$DNS/Corefile"
# /ready: the kubernetes plugin has synced with the API; then a real query through the ClusterIP.
await coredns "$DNS_WAIT_S" curl -fsS --max-time 2 "http://127.0.0.1:${PORT[coredns_ready]}/ready"
await coredns "$DNS_WAIT_S" cluster_dns_answers

# ---- resource metrics: metrics-server behind the aggregation layer --------------------------------------
# It runs on the host and listens on the bridge address: an Endpoints address may not be loopback, and the
# apiserver (with --enable-aggregator-routing) dials that endpoint directly, not the Service's ClusterIP,
# so the metrics API does not depend on kube-proxy's rules.
MS="$CLUSTER_STATE/metrics-server"
mkdir -p "$MS"
log "registering metrics-server (RBAC, Service, Endpoints $POD_GATEWAY:${PORT[metrics_server]}, APIService)"
sed -e "s|@METRICS_SERVER_ADDRESS@|$POD_GATEWAY|g" -e "s|@METRICS_SERVER_PORT@|${PORT[metrics_server]}|g" \
  -e "s|@CA_BUNDLE@|$(base64 -w0 "$PKI/ca.crt")|g" "$TEST_CLUSTER_DIR/metrics-server.yaml" >"$MS/objects.yaml"
cluster_kubectl apply -f "$MS/objects.yaml" >"$LOGS/metrics-server-apply.log" 2>&1 \
  || { cat "$LOGS/metrics-server-apply.log" >&2; die "kubectl apply of metrics-server.yaml failed"; }
# Its own identity, a token of its ServiceAccount valid as long as the certificates (7 days).
MS_TOKEN="$(cluster_kubectl -n kube-system create token metrics-server --duration=168h)" \
  || die "could not create a token for kube-system/metrics-server"
write_kubeconfig "$MS/kubeconfig" metrics-server metrics-server "$MS_TOKEN"
# --kubelet-use-node-status-port: the kubelet listens on a free port, which the Node's status reports
# (not 10250). --kubelet-insecure-tls: the kubelet's serving certificate is self-signed.
# --kubelet-request-timeout must stay below 9/10 of the resolution.
start_process metrics-server "$BIN/metrics-server" \
  --kubeconfig "$MS/kubeconfig" \
  --authentication-kubeconfig "$MS/kubeconfig" --authorization-kubeconfig "$MS/kubeconfig" \
  --bind-address "$POD_GATEWAY" --secure-port "${PORT[metrics_server]}" \
  --tls-cert-file "$PKI/metrics-server.crt" --tls-private-key-file "$PKI/metrics-server.key" \
  --kubelet-insecure-tls --kubelet-use-node-status-port --kubelet-preferred-address-types InternalIP \
  --metric-resolution "$METRIC_RESOLUTION" --kubelet-request-timeout 5s \
  --profiling=false
metrics_started_at=$(date +%s)
# Ready once it has two scrapes of the node (one resolution after start); then through the aggregator.
await metrics-server "$METRICS_WAIT_S" node_metrics_served
log "node metrics served $(( $(date +%s) - metrics_started_at ))s after metrics-server started"

log "cluster ready in $(( $(date +%s) - started_at ))s: node $NODE_NAME, pods $POD_CIDR on $BRIDGE, services $SERVICE_CIDR, DNS $DNS_SERVICE_IP"
log "kubectl --kubeconfig $KUBECONFIG_PATH get nodes"
echo "$KUBECONFIG_PATH"
