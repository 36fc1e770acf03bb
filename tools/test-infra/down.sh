#!/usr/bin/env bash
# Stops what up.sh started (listed in <state>/started), by PID, and removes up.sh's state folder.
# Anything up.sh found already running is left alone. Images stay in the engine's store.
# `down.sh npm-registry` stops the npm registry alone (started by `up.sh npm-registry`) and keeps the state folder.
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

started_pid() { awk -v n="$1" '$1 == n { print $2 }' "$STATE/started" 2>/dev/null; }

if [ "${1:-}" = npm-registry ]; then
  pid="$(started_pid npm-registry)"
  [ -n "$pid" ] && stop_pid npm-registry "$pid"
  if [ -f "$STATE/started" ]; then
    grep -v '^npm-registry ' "$STATE/started" >"$STATE/started.tmp" || true
    mv "$STATE/started.tmp" "$STATE/started"
  fi
  exit 0
fi
[ "$#" -eq 0 ] || die "unknown argument '$1' (down.sh takes none, or npm-registry)"

# Registries first (they hold no engine state), engine last.
if [ -f "$STATE/started" ]; then
  for name in npm-registry auth-registry registry dockerd; do
    pid="$(started_pid "$name")"
    [ -n "$pid" ] && stop_pid "$name" "$pid"
  done
fi
rm -rf "$STATE"
rm -f "$STATE.lock"
log "removed $STATE"
