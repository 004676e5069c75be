#!/usr/bin/env bash
# From a dependency check failing on an agent to the mode file written on an
# agent of that service: p50/p90/p99 over --reps repetitions (default 100),
# measured from the batch carrying the failure (the check interval excluded).
#
# Starts a vitals-collector (an on-ingest rule on vitals_check_up and an
# actions route degrading shop/payments) and a real vitals-agent enforcing
# service "shop" into a mode directory; bench/mode_latency.cc plays the agent
# whose check fails and watches the real agent's mode file with inotify.
# It builds nothing: run `cmake --build build` first.
#
# Usage: bench/mode_latency.sh [--build DIR] [--reps N] [--keep]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
reps=100
keep=0
while (($#)); do
  case "$1" in
    --build) build_dir=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    *) echo "unknown argument: $1" >&2; usage 2 ;;
  esac
done

collector_bin="$build_dir/collector/vitals-collector"
agent_bin="$build_dir/agent/vitals-agent"
latency_bin="$build_dir/bench/vitals_mode_latency"
for bin in "$collector_bin" "$agent_bin" "$latency_bin"; do
  [[ -x "$bin" ]] || die "missing executable: $bin (build first: cmake --build $build_dir)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mode_latency.XXXXXX")
start_cleanup

ingest_port=$(free_port)
web_port=$(free_port "$ingest_port")

cat >"$tmp/rules.yml" <<'YML'
groups:
  # vitals: eval=on_ingest
  - name: deps
    interval: 10s
    rules:
      - alert: PaymentGatewayDown
        expr: vitals_check_up{check="payment-gateway"} == 0
        annotations: {summary: payment gateway failing}
YML
cat >"$tmp/actions.yml" <<'YML'
routes:
  - matchers: ['service="shop"', 'alertname="PaymentGatewayDown"']
    actions:
      - mode: degraded
        recover_after: 0s
        probation: 0s
YML
cat >"$tmp/collector.yml" <<YML
ingest: {listen: "tcp://127.0.0.1:$ingest_port"}
web: {listen: "127.0.0.1:$web_port"}
storage: {path: "$tmp/data"}
rules: {files: ["$tmp/rules.yml"], evaluation_interval: 10s}
actions: {file: "$tmp/actions.yml"}
log: {level: warn}
YML
cat >"$tmp/agent.yml" <<YML
agent_id: shop-host
interval: 5s
collector: {endpoint: "tcp://127.0.0.1:$ingest_port"}
spool: {dir: "$tmp/spool"}
services: [{name: shop}]
modes: {dir: "$tmp/modes"}
log: {level: warn}
YML

"$collector_bin" --config "$tmp/collector.yml" >"$tmp/collector.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$web_port/-/ready" 30 "${pids[-1]}" || die "collector did not start: $(tail "$tmp/collector.log")"
"$agent_bin" --config "$tmp/agent.yml" >"$tmp/agent.log" 2>&1 &
pids+=($!)

log "measuring $reps repetitions (each waits about a second for the mode to lift again)"
"$latency_bin" --endpoint "tcp://127.0.0.1:$ingest_port" --mode-file "$tmp/modes/shop.json" --reps "$reps"
