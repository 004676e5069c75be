#!/usr/bin/env bash
# Deploys a release of the demo shop: stops the running vitals-demo-shop (if
# any) and starts VERSION in its place, detached, on the same address.
#
# Usage: shop-deploy.sh VERSION [ERROR_RATE]
#
# ERROR_RATE (default 0) is the shop's --error-rate: 0.5 plays a bad release.
# Everything else comes from $VITALS_DEMO_DIR/shop.env, written by
# scripts/demo: SHOP_BIN, SHOP_LISTEN, MODE_FILE, PG_DSN, PAYMENT_URL,
# VERSION_FILE, SHOP_LOG and SHOP_PID_FILE. The new process runs in a session
# of its own with its output in SHOP_LOG, so it outlives this script and
# whatever started it (the collector's rollback runner kills the process group
# of a command that times out); its pid goes to SHOP_PID_FILE, which the
# demo's clean-up reads. Exits 0 once the new shop answers /healthz.
set -euo pipefail

version=${1:?usage: shop-deploy.sh VERSION [ERROR_RATE]}
error_rate=${2:-0}
: "${VITALS_DEMO_DIR:?VITALS_DEMO_DIR is not set (scripts/demo sets it)}"
# shellcheck source=/dev/null
source "$VITALS_DEMO_DIR/shop.env"

# A pid is the shop while its process exists and is not a zombie (a parent
# that has not reaped it yet).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

if [[ -s "$SHOP_PID_FILE" ]]; then
  old=$(<"$SHOP_PID_FILE")
  if alive "$old"; then
    kill -TERM "$old" 2>/dev/null || true
    for _ in {1..100}; do
      alive "$old" || break
      sleep 0.05
    done
    if alive "$old"; then
      kill -KILL "$old" 2>/dev/null || true
      sleep 0.1
    fi
  fi
fi

# Not a process group leader (a background job of a script), so setsid
# starts a new session without forking: $! is the shop itself.
setsid "$SHOP_BIN" --listen "$SHOP_LISTEN" --mode-file "$MODE_FILE" --pg-dsn "$PG_DSN" \
  --payment-url "$PAYMENT_URL" --version "$version" --error-rate "$error_rate" \
  --version-file "$VERSION_FILE" </dev/null >>"$SHOP_LOG" 2>&1 &
pid=$!
echo "$pid" >"$SHOP_PID_FILE"

for _ in {1..200}; do
  if curl -fsS -o /dev/null --max-time 1 "http://$SHOP_LISTEN/healthz" 2>/dev/null; then
    echo "shop $version (error rate $error_rate) serving on $SHOP_LISTEN, pid $pid"
    exit 0
  fi
  if ! alive "$pid"; then
    echo "shop $version exited at start-up; see $SHOP_LOG" >&2
    exit 1
  fi
  sleep 0.05
done
echo "shop $version did not answer http://$SHOP_LISTEN/healthz within 10s; see $SHOP_LOG" >&2
exit 1
