# The local npm registry for tests (verdaccio), sourced by up.sh (functions only).
#
# verdaccio is installed from verdaccio/package.json (its own package.json: a pinned verdaccio and the
# node-fetch override it needs on Node 20) into a cache folder outside the state folder, so that down.sh
# does not throw the install away. Its config, storage and log live in <state>/npm-registry/.
#   - turbolift and @turbolift/*: served from local storage only (no uplink), published by the test user;
#   - everything else: read through an uplink to the registry npm is configured with, read at start time
#     (`npm config get registry`), and cached in storage.
# Publishing needs the test user's token (htpasswd, bcrypt, random password per state folder): a real
# registry refuses anonymous publishes too, and no package can be published by accident from outside.

VERDACCIO_PACKAGE_DIR="$HERE/verdaccio"
VERDACCIO_HOME="${TURBOLIFT_TEST_VERDACCIO_HOME:-/var/tmp/turbolift-test-verdaccio}"
NPM_REGISTRY_USER="${TURBOLIFT_TEST_NPM_REGISTRY_USER:-turbolift-test}"
NPM_REGISTRY_WAIT_S="${TURBOLIFT_TEST_NPM_REGISTRY_WAIT_S:-60}"

# Installs verdaccio into $VERDACCIO_HOME unless the same package.json is installed there already.
ensure_verdaccio_installed() {
  local bin="$VERDACCIO_HOME/node_modules/verdaccio/bin/verdaccio"
  if [ -x "$bin" ] && cmp -s "$VERDACCIO_PACKAGE_DIR/package.json" "$VERDACCIO_HOME/package.json"; then return 0; fi
  log "installing verdaccio into $VERDACCIO_HOME (from $VERDACCIO_PACKAGE_DIR/package.json)"
  mkdir -p "$VERDACCIO_HOME"
  cp "$VERDACCIO_PACKAGE_DIR/package.json" "$VERDACCIO_HOME/package.json"
  (cd "$VERDACCIO_HOME" && npm install --no-audit --no-fund --omit=dev --loglevel=error >&2) || die "npm install of verdaccio in $VERDACCIO_HOME failed"
  [ -x "$bin" ] || die "verdaccio installed but $bin is missing"
}

npm_registry_pings() { # url
  curl -fsS -o /dev/null --max-time 2 "${1}-/ping" 2>/dev/null
}

npm_registry_whoami() { # url token
  curl -fsS --max-time 5 -H "Authorization: Bearer $2" "${1}-/whoami" 2>/dev/null
}

# Logs the test user in and writes the token file: verdaccio answers a PUT of a known user that carries the
# user's basic credentials with a token (without them it would try to register the user, which is disabled).
npm_registry_login() { # url dir
  local url="$1" dir="$2" body answer token
  body="$(printf '{"name":"%s","password":"%s"}' "$NPM_REGISTRY_USER" "$(cat "$dir/password")")"
  answer="$(curl -fsS --max-time 10 -u "$NPM_REGISTRY_USER:$(cat "$dir/password")" -X PUT -H 'Content-Type: application/json' --data "$body" \
    "${url}-/user/org.couchdb.user:$NPM_REGISTRY_USER" 2>/dev/null)" || return 1
  token="$(printf '%s' "$answer" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>process.stdout.write(JSON.parse(s).token||""))')"
  [ -n "$token" ] || return 1
  (umask 077 && printf '%s\n' "$token" >"$dir/token")
}

write_verdaccio_config() { # listen dir uplink
  local listen="$1" dir="$2" uplink="$3"
  cat >"$dir/config.yaml" <<YAML
# Written by tools/test-infra/up.sh; the uplink is the registry npm was configured with at start time.
storage: $dir/storage
listen: $listen
web:
  enable: false
auth:
  htpasswd:
    file: $dir/htpasswd
    max_users: -1
uplinks:
  upstream:
    url: $uplink
    timeout: 60s
    maxage: 30m
    max_fails: 5
    fail_timeout: 1m
packages:
  'turbolift':
    access: \$all
    publish: \$authenticated
    unpublish: \$authenticated
  '@turbolift/*':
    access: \$all
    publish: \$authenticated
    unpublish: \$authenticated
  '**':
    access: \$all
    publish: \$authenticated
    proxy: upstream
server:
  keepAliveTimeout: 60
max_body_size: 200mb
log:
  type: stdout
  format: pretty
  level: warn
YAML
}

# ensure_npm_registry <url> <dir>: reuses a registry that answers at <url> and takes the token in
# <dir>/token; starts verdaccio there when nothing answers; refuses anything else.
ensure_npm_registry() {
  local url="$1" dir="$2" hostport uplink pid
  hostport="${url#http://}"
  hostport="${hostport%/}"
  mkdir -p "$dir"
  chmod 700 "$dir"
  if npm_registry_pings "$url"; then
    if [ -s "$dir/token" ] && [ -n "$(npm_registry_whoami "$url" "$(cat "$dir/token")")" ]; then
      log "npm registry already answers at $url (user $NPM_REGISTRY_USER)"
      return 0
    fi
    die "$url answers but does not take the token in $dir/token; stop it, or set TURBOLIFT_TEST_NPM_REGISTRY to a free loopback port"
  fi
  ensure_verdaccio_installed
  uplink="$(cd / && npm config get registry)"
  case "$uplink" in http://*|https://*) ;; *) die "npm config get registry answered '$uplink', not a URL" ;; esac
  case "$uplink" in "$url"*) die "npm is configured with $url itself: verdaccio would be its own uplink" ;; esac
  if [ ! -s "$dir/password" ]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$dir/password")
  fi
  (umask 077 && htpasswd -B -i -c "$dir/htpasswd" "$NPM_REGISTRY_USER" <"$dir/password" 2>/dev/null) \
    || die "htpasswd -B could not write $dir/htpasswd"
  mkdir -p "$dir/storage"
  write_verdaccio_config "$hostport" "$dir" "$uplink"
  log "starting verdaccio on $url (log: $dir/verdaccio.log)"
  setsid node "$VERDACCIO_HOME/node_modules/verdaccio/bin/verdaccio" --config "$dir/config.yaml" \
    >"$dir/verdaccio.log" 2>&1 </dev/null 9>&- &
  pid=$!
  record_started npm-registry "$pid"
  if ! wait_until "$NPM_REGISTRY_WAIT_S" "npm registry is up" npm_registry_pings "$url"; then
    tail -n 15 "$dir/verdaccio.log" >&2 || true
    die "verdaccio did not answer within ${NPM_REGISTRY_WAIT_S}s at $url (log: $dir/verdaccio.log; is the port taken?)"
  fi
  npm_registry_login "$url" "$dir" || die "verdaccio at $url refused the login of $NPM_REGISTRY_USER (log: $dir/verdaccio.log)"
}

# The lines up.sh prints for the npm registry.
npm_registry_exports() { # url dir
  echo "export TURBOLIFT_TEST_NPM_REGISTRY=$1"
  echo "export TURBOLIFT_TEST_NPM_REGISTRY_TOKEN_FILE=$2/token"
}
