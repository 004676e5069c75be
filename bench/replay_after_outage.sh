#!/usr/bin/env bash
# How fast an agent catches up after a collector outage.
#
# Runs a vitals-agent with no collector until its spool holds --batches
# batches (default 600: a 10-minute outage at a 1 s interval, produced here at
# a 100 ms interval so the outage takes a minute), then starts the collector
# and measures the time until the spool is drained (at most the one batch
# being written) and how many batches per second that is. The agent's
# replay_rate (default 200 batches/s) bounds it by design.
# It builds nothing: run `cmake --build build` first.
#
# Usage: bench/replay_after_outage.sh [--build DIR] [--batches N] [--replay-rate N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
batches=600
replay_rate=200

while (($#)); do
  case "$1" in
    --build) build_dir=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --replay-rate) replay_rate=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

agent_bin="$build_dir/agent/vitals-agent"
collector_bin="$build_dir/collector/vitals-collector"
for bin in "$agent_bin" "$collector_bin"; do
  [[ -x "$bin" ]] || { echo "missing executable: $bin (build first: cmake --build build)" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/replay_bench.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ingest_port=$(free_port)
web_port=$(free_port "$ingest_port")

cat >"$tmp/collector.yml" <<YML
ingest: {listen: "tcp://127.0.0.1:$ingest_port"}
web: {listen: "127.0.0.1:$web_port"}
storage: {path: "$tmp/data"}
log: {level: warn}
YML
cat >"$tmp/agent.yml" <<YML
agent_id: replay-bench
interval: 100ms
collector:
  endpoint: "tcp://127.0.0.1:$ingest_port"
  replay_rate: $replay_rate
  max_retry_backoff: 1s
spool: {dir: "$tmp/spool"}
log: {level: warn}
YML

# Batches waiting in the spool, read from outside while the agent runs.
spooled() {
  "$agent_bin" --spool-status "$tmp/spool" 2>/dev/null | awk '$1 == "batches" { n = $2 } END { print n + 0 }'
}

"$agent_bin" --config "$tmp/agent.yml" 2>"$tmp/agent.log" &
pids+=($!)
echo "outage: waiting until $batches batches are spooled..."
while (($(spooled) < batches)); do sleep 0.2; done
spool_bytes=$("$agent_bin" --spool-status "$tmp/spool" | awk '$1 == "bytes" { print $2 }')

start=$(date +%s.%N)
"$collector_bin" --config "$tmp/collector.yml" 2>"$tmp/collector.log" &
pids+=($!)
while (($(spooled) > 1)); do sleep 0.02; done
end=$(date +%s.%N)

stored=$(curl -s "http://127.0.0.1:$web_port/metrics" | awk '/^vitals_ingest_batches_total/ { print $2 }')
awk -v s="$start" -v e="$end" -v n="$batches" -v b="$spool_bytes" -v st="$stored" \
    -v rate="$replay_rate" 'BEGIN {
  d = e - s
  printf "replayed %d spooled batches (%.1f MiB) in %.2f s after the collector started\n", n, b / 1048576, d
  printf "  %.0f batches/s (replay_rate %d); collector stored %d batches so far\n", n / d, rate, st
  printf "  target: < 10 s for a 10-minute outage at a 1 s interval (600 batches): %s\n", (n >= 600 && d < 10) ? "met" : (n < 600 ? "n/a" : "missed")
}'
