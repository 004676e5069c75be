# Shared by the bench/*.sh scripts: source it after `set -euo pipefail`.

# Prints the script's header comment (from line 2 to `set -euo`) as its help,
# then exits with status $1 (default 0).
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit "${1:-0}"
}

# Prints a TCP port on 127.0.0.1 that nobody listens on and that is none of
# the ports given as arguments (ones this script already handed out).
free_port() {
  local port
  for _ in {1..200}; do
    port=$((20000 + RANDOM % 40000))
    [[ " $* " == *" $port "* ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "no free port found" >&2
  exit 1
}

# Background processes the script started (append their PIDs) are killed, and
# $tmp removed unless $keep is 1, when the script exits. Call once, after
# setting tmp and keep.
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if ((keep)); then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
start_cleanup() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
}

log() { echo "[$(date +%T)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# wait_http URL SECONDS PID: until URL answers 2xx; fails if PID exits first.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2)) pid=$3
  until curl -sf -o /dev/null --max-time 2 "$url"; do
    kill -0 "$pid" 2>/dev/null || return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
