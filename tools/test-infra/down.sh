#!/usr/bin/env bash
# Stops what up.sh started (listed in <state>/started), by PID, and removes up.sh's state folder.
# Anything up.sh found already running is left alone. Images stay in the engine's store.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
STATE="$TURBOLIFT_TEST_INFRA_DIR"
STOP_WAIT_S="${TURBOLIFT_TEST_STOP_WAIT_S:-30}"

[ -d "$STATE" ] || { log "nothing to stop ($STATE does not exist)"; exit 0; }
exec 9>"$STATE.lock"
flock -w "${TURBOLIFT_TEST_LOCK_WAIT_S:-600}" 9 || die "another up.sh/down.sh holds $STATE.lock (waited ${TURBOLIFT_TEST_LOCK_WAIT_S:-600}s)"

stop_pid() { # name pid
  local name="$1" pid="$2"
  if ! pid_alive "$pid"; then log "$name (pid $pid) already gone"; return 0; fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_until "$STOP_WAIT_S" "$name has exited" bash -c "! kill -0 $pid"; then
    log "$name (pid $pid) ignored SIGTERM for ${STOP_WAIT_S}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

# Registries first (they hold no engine state), engine last.
if [ -f "$STATE/started" ]; then
  for name in auth-registry registry dockerd; do
    pid="$(awk -v n="$name" '$1 == n { print $2 }' "$STATE/started")"
    [ -n "$pid" ] && stop_pid "$name" "$pid"
  done
fi
rm -rf "$STATE"
rm -f "$STATE.lock"
log "removed $STATE"
