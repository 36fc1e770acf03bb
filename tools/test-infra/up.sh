#!/usr/bin/env bash
# Brings up what container tests need, on loopback only, and only what is not already answering:
#   - Debian packages docker.io + docker-registry + apache2-utils (plus TURBOLIFT_TEST_INFRA_EXTRA_PACKAGES),
#   - a Docker engine (dockerd) when `docker info` gets no answer,
#   - an image registry on $TURBOLIFT_TEST_REGISTRY (default 127.0.0.1:5000) when nothing answers there,
#   - a second registry with htpasswd (bcrypt) authentication on $TURBOLIFT_TEST_AUTH_REGISTRY (default
#     127.0.0.1:5001), its random password and a Docker config for it in the state folder,
#   - a Node base image made from this machine's own node binary (no pulls: nothing can be pulled here),
#     tagged $TURBOLIFT_TEST_BASE_IMAGE and pushed to the registry,
#   - a local npm registry (verdaccio, installed into its own cache folder) on $TURBOLIFT_TEST_NPM_REGISTRY
#     (default http://127.0.0.1:4873/) when nothing answers there: turbolift and @turbolift/* from its own
#     storage only, everything else through an uplink to the registry npm is configured with (read now).
# Idempotent and safe to run concurrently (one flock). What it started is listed in <state>/started so that
# down.sh stops exactly that. stdout: `export KEY=value` lines (eval-able); progress goes to stderr.
# `up.sh npm-registry` brings up the npm registry alone (no engine, no image registries): for npm-only tests.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
STATE="$TURBOLIFT_TEST_INFRA_DIR"
REGISTRY="${TURBOLIFT_TEST_REGISTRY:-127.0.0.1:5000}"
AUTH_REGISTRY="${TURBOLIFT_TEST_AUTH_REGISTRY:-127.0.0.1:5001}"
AUTH_USER="${TURBOLIFT_TEST_AUTH_REGISTRY_USER:-turbolift}"
NPM_REGISTRY="${TURBOLIFT_TEST_NPM_REGISTRY:-http://127.0.0.1:4873/}"
NPM_REGISTRY="${NPM_REGISTRY%/}/"
BASE_IMAGE="${TURBOLIFT_TEST_BASE_IMAGE:-turbolift-test/node:$NODE_MAJOR}"
DOCKER_SOCKET="${TURBOLIFT_TEST_DOCKER_SOCKET:-/var/run/docker.sock}"
ENGINE_WAIT_S="${TURBOLIFT_TEST_ENGINE_WAIT_S:-60}"
REGISTRY_WAIT_S="${TURBOLIFT_TEST_REGISTRY_WAIT_S:-30}"

for pair in "TURBOLIFT_TEST_REGISTRY=$REGISTRY" "TURBOLIFT_TEST_AUTH_REGISTRY=$AUTH_REGISTRY"; do
  case "${pair#*=}" in
    127.*|localhost:*|\[::1\]:*) ;;
    *) die "$pair is not a loopback address" ;;
  esac
done
case "$NPM_REGISTRY" in
  http://127.*|http://localhost:*|http://\[::1\]:*) ;;
  *) die "TURBOLIFT_TEST_NPM_REGISTRY=$NPM_REGISTRY is not an http:// URL on a loopback address" ;;
esac
[ "$AUTH_REGISTRY" != "$REGISTRY" ] || die "TURBOLIFT_TEST_AUTH_REGISTRY and TURBOLIFT_TEST_REGISTRY are both $REGISTRY"
case "$AUTH_USER" in *:*|'') die "TURBOLIFT_TEST_AUTH_REGISTRY_USER=$AUTH_USER: a user name without ':'" ;; esac

mkdir -p "$STATE"
# The daemons started below must not inherit fd 9, or they would hold the lock for their lifetime.
exec 9>"$STATE.lock"
flock -w "${TURBOLIFT_TEST_LOCK_WAIT_S:-600}" 9 || die "another up.sh/down.sh holds $STATE.lock (waited ${TURBOLIFT_TEST_LOCK_WAIT_S:-600}s)"
touch "$STATE/started"

record_started() { # name pid
  grep -v "^$1 " "$STATE/started" >"$STATE/started.tmp" || true
  echo "$1 $2" >>"$STATE/started.tmp"
  mv "$STATE/started.tmp" "$STATE/started"
}

# shellcheck source=npm-registry.sh
source "$HERE/npm-registry.sh"
if [ "${1:-}" = npm-registry ]; then
  ensure_debian_packages apache2-utils
  ensure_npm_registry "$NPM_REGISTRY" "$STATE/npm-registry"
  log "npm registry: $NPM_REGISTRY (publish token in $STATE/npm-registry/token)"
  npm_registry_exports "$NPM_REGISTRY" "$STATE/npm-registry"
  echo "export TURBOLIFT_TEST_INFRA_DIR=$STATE"
  exit 0
fi
[ "$#" -eq 0 ] || die "unknown argument '$1' (up.sh takes none, or npm-registry)"

# ---- packages -------------------------------------------------------------------------------------------
# shellcheck disable=SC2086
# apache2-utils: htpasswd, for the authenticated registry's bcrypt password file.
ensure_debian_packages docker.io docker-registry apache2-utils ${TURBOLIFT_TEST_INFRA_EXTRA_PACKAGES:-}

# ---- Docker engine --------------------------------------------------------------------------------------
if [ -z "${DOCKER_HOST:-}" ]; then export DOCKER_HOST="unix://$DOCKER_SOCKET"; fi
engine_answers() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

if engine_answers; then
  log "Docker engine already answers at $DOCKER_HOST"
else
  case "$DOCKER_HOST" in
    unix://*) DOCKER_SOCKET="${DOCKER_HOST#unix://}" ;;
    *) die "no Docker engine answers at DOCKER_HOST=$DOCKER_HOST, and up.sh only starts engines on unix sockets" ;;
  esac
  command -v dockerd >/dev/null || die "dockerd is not installed (package docker.io)"
  log "starting dockerd on unix://$DOCKER_SOCKET (log: $STATE/dockerd.log)"
  setsid dockerd --host="unix://$DOCKER_SOCKET" --bridge=none --iptables=false --ip6tables=false \
    --pidfile="$STATE/dockerd.pid" >"$STATE/dockerd.log" 2>&1 </dev/null 9>&- &
  DOCKERD_PID=$!
  record_started dockerd "$DOCKERD_PID"
  if ! wait_until "$ENGINE_WAIT_S" "Docker engine is up" engine_answers; then
    pid_alive "$DOCKERD_PID" || log "dockerd exited; last log lines:"
    tail -n 15 "$STATE/dockerd.log" >&2 || true
    die "Docker engine did not answer within ${ENGINE_WAIT_S}s at $DOCKER_HOST (log: $STATE/dockerd.log)"
  fi
fi

# ---- image registry -------------------------------------------------------------------------------------
registry_answers() { curl -fsS -o /dev/null --max-time 2 "http://$REGISTRY/v2/" 2>/dev/null; }

if registry_answers; then
  log "registry already answers at http://$REGISTRY"
else
  command -v docker-registry >/dev/null || die "docker-registry is not installed (package docker-registry)"
  mkdir -p "$STATE/registry-data"
  cat >"$STATE/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry-data
  delete:
    enabled: true
http:
  addr: $REGISTRY
YAML
  log "starting docker-registry on $REGISTRY (log: $STATE/registry.log)"
  setsid docker-registry serve "$STATE/registry.yml" >"$STATE/registry.log" 2>&1 </dev/null 9>&- &
  REGISTRY_PID=$!
  record_started registry "$REGISTRY_PID"
  if ! wait_until "$REGISTRY_WAIT_S" "registry is up" registry_answers; then
    tail -n 15 "$STATE/registry.log" >&2 || true
    die "registry did not answer within ${REGISTRY_WAIT_S}s at http://$REGISTRY (log: $STATE/registry.log; is the port taken?)"
  fi
fi

# ---- image registry with authentication ------------------------------------------------------------------
# The same docker-registry, with htpasswd auth (bcrypt, the only hash it takes): pulls and pushes without the
# password get 401. The password is random, made once per state folder; the Docker config next to it holds
# this registry only, so tests use it as DOCKER_CONFIG and the user's own ~/.docker is never touched.
AUTH_DIR="$STATE/auth-registry"
AUTH_PASSWORD_FILE="$AUTH_DIR/password"
AUTH_DOCKER_CONFIG="$AUTH_DIR/docker-config"
mkdir -p "$AUTH_DIR/data" "$AUTH_DOCKER_CONFIG"
chmod 700 "$AUTH_DIR"
auth_status() { # [curl options...]: the HTTP status of /v2/ (000 when nothing answers)
  curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "$@" "http://$AUTH_REGISTRY/v2/" 2>/dev/null || true
}
auth_registry_refuses_anonymous() { [ "$(auth_status)" = 401 ]; }
auth_registry_takes_password() { [ "$(auth_status --user "$AUTH_USER:$(cat "$AUTH_PASSWORD_FILE")")" = 200 ]; }

if [ ! -s "$AUTH_PASSWORD_FILE" ]; then
  (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$AUTH_PASSWORD_FILE")
fi
status="$(auth_status)"
if [ "$status" = 401 ] && auth_registry_takes_password; then
  log "authenticated registry already answers at http://$AUTH_REGISTRY (user $AUTH_USER)"
elif [ "$status" != 000 ]; then
  die "http://$AUTH_REGISTRY answers (/v2/: HTTP $status) but does not take the password in $AUTH_PASSWORD_FILE; stop it, or set TURBOLIFT_TEST_AUTH_REGISTRY to a free loopback port"
else
  command -v htpasswd >/dev/null || die "htpasswd is not installed (package apache2-utils)"
  (umask 077 && htpasswd -B -i -c "$AUTH_DIR/htpasswd" "$AUTH_USER" <"$AUTH_PASSWORD_FILE" 2>/dev/null) \
    || die "htpasswd -B could not write $AUTH_DIR/htpasswd"
  cat >"$AUTH_DIR/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $AUTH_DIR/data
  delete:
    enabled: true
http:
  addr: $AUTH_REGISTRY
auth:
  htpasswd:
    realm: turbolift-test
    path: $AUTH_DIR/htpasswd
YAML
  log "starting docker-registry with htpasswd auth on $AUTH_REGISTRY (log: $AUTH_DIR/registry.log)"
  setsid docker-registry serve "$AUTH_DIR/registry.yml" >"$AUTH_DIR/registry.log" 2>&1 </dev/null 9>&- &
  AUTH_REGISTRY_PID=$!
  record_started auth-registry "$AUTH_REGISTRY_PID"
  if ! wait_until "$REGISTRY_WAIT_S" "authenticated registry is up" auth_registry_refuses_anonymous; then
    tail -n 15 "$AUTH_DIR/registry.log" >&2 || true
    die "authenticated registry did not answer within ${REGISTRY_WAIT_S}s at http://$AUTH_REGISTRY (log: $AUTH_DIR/registry.log; is the port taken?)"
  fi
  auth_registry_takes_password || die "the registry at http://$AUTH_REGISTRY refuses the password in $AUTH_PASSWORD_FILE"
fi
# What `docker login` would write, without asking the engine (and without a credsStore): this registry only.
(umask 077 && printf '{\n  "auths": {\n    "%s": { "auth": "%s" }\n  }\n}\n' "$AUTH_REGISTRY" \
  "$(printf '%s:%s' "$AUTH_USER" "$(cat "$AUTH_PASSWORD_FILE")" | base64 -w0)" >"$AUTH_DOCKER_CONFIG/config.json.tmp")
mv "$AUTH_DOCKER_CONFIG/config.json.tmp" "$AUTH_DOCKER_CONFIG/config.json"

# ---- Node base image ------------------------------------------------------------------------------------
NODE_BIN="$(command -v node)"
NODE_VERSION="$(node -v)"
base_is_current() {
  [ "$(docker image inspect "$BASE_IMAGE" --format '{{ index .Config.Labels "dev.turbolift.node-version" }}' 2>/dev/null)" = "$NODE_VERSION" ]
}

build_base_rootfs() { # dir
  local root="$1" lib
  rm -rf "$root" && mkdir -p "$root"/{usr/bin,etc/ssl/certs,tmp,home/node,app}
  cp -L "$NODE_BIN" "$root/usr/bin/node"
  # Every library the binary links against, plus the dynamic loader, at the paths ldd reports.
  for lib in $(ldd "$NODE_BIN" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000:node:/home/node:/usr/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"; fi
  chmod 1777 "$root/tmp"
  chown 1000:1000 "$root/home/node"
}

if base_is_current; then
  log "base image $BASE_IMAGE exists (node $NODE_VERSION)"
  BASE_CHANGED=0
else
  log "importing base image $BASE_IMAGE from $NODE_BIN ($NODE_VERSION) and its libraries"
  ROOTFS="$STATE/base-rootfs"
  build_base_rootfs "$ROOTFS"
  tar -C "$ROOTFS" --numeric-owner --sort=name --mtime=@0 -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change "LABEL dev.turbolift.node-version=$NODE_VERSION" \
    --change 'WORKDIR /' \
    --change 'CMD ["node"]' \
    - "$BASE_IMAGE" >/dev/null
  rm -rf "$ROOTFS"
  docker run --rm --network host "$BASE_IMAGE" node -e 'process.exit(0)' \
    || die "imported $BASE_IMAGE but node does not run inside it"
  BASE_CHANGED=1
fi

REMOTE_BASE_IMAGE="$REGISTRY/$BASE_IMAGE"
remote_base_exists() {
  local repo="${BASE_IMAGE%:*}" tag="${BASE_IMAGE##*:}"
  curl -fsS -o /dev/null --max-time 5 -I \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY/v2/$repo/manifests/$tag"
}
if [ "$BASE_CHANGED" = 1 ] || ! remote_base_exists; then
  log "pushing $REMOTE_BASE_IMAGE"
  docker tag "$BASE_IMAGE" "$REMOTE_BASE_IMAGE"
  docker push "$REMOTE_BASE_IMAGE" >"$STATE/base-push.log" 2>&1 \
    || { tail -n 5 "$STATE/base-push.log" >&2; die "pushing $REMOTE_BASE_IMAGE failed"; }
else
  log "registry has $REMOTE_BASE_IMAGE"
fi

# ---- npm registry (verdaccio) ----------------------------------------------------------------------------
ensure_npm_registry "$NPM_REGISTRY" "$STATE/npm-registry"

# ---- where things are -----------------------------------------------------------------------------------
{
  echo "export DOCKER_HOST=$DOCKER_HOST"
  echo "export TURBOLIFT_TEST_REGISTRY=$REGISTRY"
  echo "export TURBOLIFT_TEST_BASE_IMAGE=$BASE_IMAGE"
  echo "export TURBOLIFT_TEST_REMOTE_BASE_IMAGE=$REMOTE_BASE_IMAGE"
  echo "export TURBOLIFT_TEST_AUTH_REGISTRY=$AUTH_REGISTRY"
  echo "export TURBOLIFT_TEST_AUTH_REGISTRY_USER=$AUTH_USER"
  echo "export TURBOLIFT_TEST_AUTH_REGISTRY_PASSWORD_FILE=$AUTH_PASSWORD_FILE"
  echo "export TURBOLIFT_TEST_AUTH_DOCKER_CONFIG=$AUTH_DOCKER_CONFIG"
  npm_registry_exports "$NPM_REGISTRY" "$STATE/npm-registry"
  echo "export TURBOLIFT_TEST_INFRA_DIR=$STATE"
} >"$STATE/env.sh"
log "engine:   $DOCKER_HOST ($(docker info --format '{{.ServerVersion}} {{.Driver}}'))"
log "registry: http://$REGISTRY"
log "auth registry: http://$AUTH_REGISTRY (user $AUTH_USER, password in $AUTH_PASSWORD_FILE, DOCKER_CONFIG=$AUTH_DOCKER_CONFIG)"
log "npm registry: $NPM_REGISTRY (publish token in $STATE/npm-registry/token)"
log "base:     $BASE_IMAGE ($(docker image inspect "$BASE_IMAGE" --format '{{.Size}}') bytes), $REMOTE_BASE_IMAGE"
log "state:    $STATE (started by up.sh: $(tr '\n' ' ' <"$STATE/started"))"
cat "$STATE/env.sh"
