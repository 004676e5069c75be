#!/usr/bin/env bash
# Footprint of vitals-agent against prometheus-node-exporter, measured in the
# same run on this host: CPU per measurement cycle and resident memory.
#
# Starts a vitals-collector (temporary config and storage), a vitals-agent
# pushing to it every second, and a node_exporter that this script scrapes
# once a second, then samples both processes once per cycle:
#   - CPU per cycle, mean: utime+stime (/proc/<pid>/stat, all threads) over
#     the whole run divided by the number of cycles. Clock-tick resolution
#     (10 ms), which is why it is taken over the whole run.
#   - CPU per cycle, median: of the per-cycle deltas of the threads' on-CPU
#     nanoseconds (/proc/<pid>/task/*/schedstat); threads that exit during a
#     cycle are missed, so this can only under-count.
#   - RSS: median of VmRSS (/proc/<pid>/status) sampled every cycle; PSS
#     likewise (/proc/<pid>/smaps_rollup), which splits the pages of shared
#     libraries among the processes that map them.
# It builds nothing: run `cmake --build build` first.
#
# Usage: bench/agent_footprint.sh [--build DIR] [--cycles N] [--node-exporter PATH] [--no-fsync]
#   --no-fsync runs the agent with spool.fsync: false, to show what durability
#   against power loss costs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir="$script_dir/../build"
cycles=60
spool_fsync=true
node_exporter=/usr/bin/prometheus-node-exporter
warmup_s=3

while (($#)); do
  case "$1" in
    --build) build_dir=$2; shift 2 ;;
    --cycles) cycles=$2; shift 2 ;;
    --node-exporter) node_exporter=$2; shift 2 ;;
    --no-fsync) spool_fsync=false; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
  esac
done
[[ "$cycles" =~ ^[1-9][0-9]*$ ]] || { echo "--cycles must be a positive integer" >&2; exit 2; }

agent_bin="$build_dir/agent/vitals-agent"
collector_bin="$build_dir/collector/vitals-collector"
for bin in "$agent_bin" "$collector_bin" "$node_exporter"; do
  [[ -x "$bin" ]] || { echo "missing executable: $bin (build first: cmake --build build)" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "curl is required" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/agent_footprint.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    # Give each process 5 s to exit cleanly, then kill it.
    for _ in {1..50}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits up to 10 s for `url` to answer.
wait_http() {
  local url=$1 what=$2
  for _ in {1..100}; do
    curl -sf --max-time 1 -o /dev/null "$url" && return
    sleep 0.1
  done
  echo "$what did not come up at $url; its log:" >&2
  cat "$tmp/$what.log" >&2 || true
  exit 1
}

cpu_ticks() {  # utime + stime of all threads, in clock ticks.
  local stat rest
  stat=$(<"/proc/$1/stat")
  rest=${stat##*) }  # Fields from the third (state) on; comm may hold spaces.
  read -ra f <<<"$rest"
  echo $((f[11] + f[12]))
}

cpu_ns() {  # On-CPU nanoseconds of the live threads.
  cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d\n", s }'
}

rss_kib() {
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

pss_kib() {
  awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0
}

median() {  # Of the numbers on stdin.
  sort -n | awk '{ a[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

alive() {
  kill -0 "$1" 2>/dev/null || { echo "$2 exited early; its log:" >&2; cat "$tmp/$2.log" >&2; exit 1; }
}

ingest_port=$(free_port)
web_port=$(free_port "$ingest_port")
ne_port=$(free_port "$ingest_port" "$web_port")

cat >"$tmp/collector.yml" <<EOF
ingest:
  listen: tcp://127.0.0.1:$ingest_port
web:
  listen: 127.0.0.1:$web_port
storage:
  path: $tmp/data
log:
  level: warn
EOF
cat >"$tmp/agent.yml" <<EOF
agent_id: footprint
interval: 1s
collector:
  endpoint: tcp://127.0.0.1:$ingest_port
spool:
  dir: $tmp/spool
  fsync: $spool_fsync
log:
  level: warn
EOF

"$collector_bin" --config "$tmp/collector.yml" >"$tmp/collector.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$web_port/-/ready" collector

"$agent_bin" --config "$tmp/agent.yml" >"$tmp/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")

"$node_exporter" --web.listen-address="127.0.0.1:$ne_port" >"$tmp/node_exporter.log" 2>&1 &
ne_pid=$!
pids+=("$ne_pid")
ne_url="http://127.0.0.1:$ne_port/metrics"
wait_http "$ne_url" node_exporter

echo "warming up for ${warmup_s}s, then measuring $cycles cycles of 1s..." >&2
sleep "$warmup_s"
alive "$agent_pid" agent

agent_ticks0=$(cpu_ticks "$agent_pid")
ne_ticks0=$(cpu_ticks "$ne_pid")
agent_ns_prev=$(cpu_ns "$agent_pid")
ne_ns_prev=$(cpu_ns "$ne_pid")
agent_cycle_us=()
ne_cycle_us=()
agent_rss=()
ne_rss=()
agent_pss=()
ne_pss=()
scrapes=0
next_us=$(( ${EPOCHREALTIME/./} + 1000000 ))
for ((i = 0; i < cycles; i++)); do
  if curl -sf --max-time 5 -o /dev/null "$ne_url"; then scrapes=$((scrapes + 1)); fi
  # Sleep to the next whole second of the run, so each cycle is one agent interval.
  now_us=${EPOCHREALTIME/./}
  if ((next_us > now_us)); then sleep "$(printf '%d.%06d' $(((next_us - now_us) / 1000000)) $(((next_us - now_us) % 1000000)))"; fi
  next_us=$((next_us + 1000000))
  alive "$agent_pid" agent
  alive "$ne_pid" node_exporter
  agent_ns=$(cpu_ns "$agent_pid")
  ne_ns=$(cpu_ns "$ne_pid")
  agent_cycle_us+=($(((agent_ns - agent_ns_prev) / 1000)))
  ne_cycle_us+=($(((ne_ns - ne_ns_prev) / 1000)))
  agent_ns_prev=$agent_ns
  ne_ns_prev=$ne_ns
  agent_rss+=("$(rss_kib "$agent_pid")")
  ne_rss+=("$(rss_kib "$ne_pid")")
  agent_pss+=("$(pss_kib "$agent_pid")")
  ne_pss+=("$(pss_kib "$ne_pid")")
done
agent_ticks=$(($(cpu_ticks "$agent_pid") - agent_ticks0))
ne_ticks=$(($(cpu_ticks "$ne_pid") - ne_ticks0))
((scrapes > 0)) || { echo "no node_exporter scrape succeeded" >&2; exit 1; }

batches=$(curl -sf --max-time 5 "http://127.0.0.1:$web_port/metrics" |
  awk '$1 == "vitals_ingest_batches_total" { print $2 }')
samples=$(curl -sf --max-time 5 "http://127.0.0.1:$web_port/metrics" |
  awk '$1 == "vitals_ingest_samples_total" { print $2 }')

clk_tck=$(getconf CLK_TCK)
agent_mean=$(awk -v t="$agent_ticks" -v h="$clk_tck" -v n="$cycles" 'BEGIN { print t * 1000 / h / n }')
ne_mean=$(awk -v t="$ne_ticks" -v h="$clk_tck" -v n="$scrapes" 'BEGIN { print t * 1000 / h / n }')
agent_median=$(printf '%s\n' "${agent_cycle_us[@]}" | median | awk '{ print $1 / 1000 }')
ne_median=$(printf '%s\n' "${ne_cycle_us[@]}" | median | awk '{ print $1 / 1000 }')
agent_rss_mib=$(printf '%s\n' "${agent_rss[@]}" | median | awk '{ print $1 / 1024 }')
ne_rss_mib=$(printf '%s\n' "${ne_rss[@]}" | median | awk '{ print $1 / 1024 }')
agent_pss_mib=$(printf '%s\n' "${agent_pss[@]}" | median | awk '{ print $1 / 1024 }')
ne_pss_mib=$(printf '%s\n' "${ne_pss[@]}" | median | awk '{ print $1 / 1024 }')
agent_rss_max=$(printf '%s\n' "${agent_rss[@]}" | sort -n | tail -1 | awk '{ print $1 / 1024 }')
ne_rss_max=$(printf '%s\n' "${ne_rss[@]}" | sort -n | tail -1 | awk '{ print $1 / 1024 }')

row() {  # name agent node_exporter
  awk -v n="$1" -v a="$2" -v e="$3" 'BEGIN {
    printf "%-28s %12.2f %14.2f %10s\n", n, a, e, (e > 0) ? sprintf("%.2f", a / e) : "-" }'
}
echo
echo "host: $(uname -sr), $(nproc) CPUs; $cycles cycles of 1s; $scrapes node_exporter scrapes"
echo "collector stored ${batches:-?} batches, ${samples:-?} samples from the agent"
printf '%-28s %12s %14s %10s\n' "" "vitals-agent" "node_exporter" "agent/ne"
row "CPU ms/cycle (median)" "$agent_median" "$ne_median"
row "CPU ms/cycle (mean, ticks)" "$agent_mean" "$ne_mean"
row "RSS MiB (median)" "$agent_rss_mib" "$ne_rss_mib"
row "RSS MiB (max)" "$agent_rss_max" "$ne_rss_max"
row "PSS MiB (median)" "$agent_pss_mib" "$ne_pss_mib"
echo
echo "targets: agent CPU <= 2 ms/cycle (median), agent RSS <= 8 MiB"
