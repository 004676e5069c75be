#!/usr/bin/env bash
# The demo shop's rollback command (actions.yml, rollback.services): the
# collector's actions layer runs it, without a shell, when the route
# shop-bad-release fires, with SERVICE, FROM_VERSION, TO_VERSION, REASON and
# INCIDENT_ID in its environment (docs/actions.md, "The command"). It
# redeploys the shop at TO_VERSION with no error rate through shop-deploy.sh
# and exits 0 once that release serves; non-zero is a failed rollback.
#
# Idempotent, as a rollback command must be (two collectors may both run it):
# a shop already running TO_VERSION is left alone. Each run appends a line to
# $VITALS_DEMO_DIR/rollback.log, which scripts/demo prints.
set -euo pipefail

: "${VITALS_DEMO_DIR:?VITALS_DEMO_DIR is not set (scripts/demo sets it in the collector environment)}"
: "${TO_VERSION:?TO_VERSION is not set (the collector sets it when it rolls back)}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=/dev/null
source "$VITALS_DEMO_DIR/shop.env"

note() {
  echo "$(date +%H:%M:%S.%3N) rollback of ${SERVICE:-shop} from ${FROM_VERSION:-?} to $TO_VERSION" \
    "(incident ${INCIDENT_ID:-none}, reason: ${REASON:-none}): $*" >>"$VITALS_DEMO_DIR/rollback.log"
}

running=$(head -n 1 "$VERSION_FILE" 2>/dev/null || true)
pid=$(cat "$SHOP_PID_FILE" 2>/dev/null || true)
if [[ "$running" == "$TO_VERSION" && -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
  note "already running $TO_VERSION, nothing to do"
  echo "shop already runs $TO_VERSION"
  exit 0
fi

note "redeploying"
if out=$("$here/shop-deploy.sh" "$TO_VERSION" 0 2>&1); then
  note "done: $out"
  echo "$out"
else
  status=$?
  note "failed (exit status $status): $out"
  echo "$out" >&2
  exit "$status"
fi
