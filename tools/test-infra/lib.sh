# Shared helpers for the test infrastructure scripts (sourced, not run).
# tools/test-cluster sources this file too: `ensure_debian_packages etcd-server containernetworking-plugins iptables`.

TURBOLIFT_TEST_INFRA_DIR="${TURBOLIFT_TEST_INFRA_DIR:-/tmp/turbolift-test-infra}"
# Kept outside the state folder on purpose: down.sh removes that folder, and the package lists stay valid.
TURBOLIFT_APT_UPDATED_MARKER="${TURBOLIFT_APT_UPDATED_MARKER:-/var/tmp/turbolift-apt-updated}"

log() { printf '[test-infra] %s\n' "$*" >&2; }
die() { printf '[test-infra] error: %s\n' "$*" >&2; exit 1; }

package_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Installs the Debian packages that are missing; runs `apt-get update` at most once per machine
# (again only when an install fails with lists that may be stale).
ensure_debian_packages() {
  local missing=() pkg
  for pkg in "$@"; do package_installed "$pkg" || missing+=("$pkg"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -e "$TURBOLIFT_APT_UPDATED_MARKER" ]; then
    log "apt-get update (once)"
    apt-get update -qq >&2 || die "apt-get update failed"
    touch "$TURBOLIFT_APT_UPDATED_MARKER"
  fi
  log "installing ${missing[*]}"
  if ! install_without_starting_services "${missing[@]}"; then
    log "install failed; refreshing package lists and retrying once"
    apt-get update -qq >&2 || die "apt-get update failed"
    install_without_starting_services "${missing[@]}" || die "apt-get install ${missing[*]} failed"
  fi
}

# Package scripts would start the daemons as system services; we start (and later stop) our own instead,
# so a policy-rc.d that forbids service starts is in place for the duration of the install only.
install_without_starting_services() {
  local policy=/usr/sbin/policy-rc.d placed=0 rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && placed=1
  fi
  apt-get install -y -qq --no-install-recommends "$@" >&2 || rc=$?
  [ "$placed" -eq 1 ] && rm -f "$policy"
  return "$rc"
}

# wait_until <seconds> <description> <command...>: polls once per 0.5 s, bounded.
wait_until() {
  local seconds="$1" what="$2"; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.5
  done
  log "$what"
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }
