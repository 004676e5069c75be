#!/usr/bin/env bash
# Ingest throughput, peak memory and disk use of vitals-collector against
# VictoriaMetrics single-node, measured in the same run on this host with the
# same samples.
#
# Each repetition:
#   (a) starts a vitals-collector (no CURVE) on free ports with its storage in
#       a temporary directory, runs vitals_ingest_load against it (--agents
#       agents x --series series x --rounds rounds, one batch per agent and
#       round, --window batches in flight per agent, as fast as acks allow),
#       reads the collector's peak RSS (VmHWM), stops it with SIGTERM and
#       measures its storage directory;
#   (b) starts VictoriaMetrics with its storage in a temporary directory and
#       sends it the identical samples (vitals_ingest_load --victoriametrics-url:
#       /api/v1/import/prometheus, one request per agent and round, bodies
#       generated before the clock starts, --vm-connections at a time; the clock
#       stops when vm_rows_added_to_storage_total counts every sample), reads
#       its VmHWM, forces a flush and a merge, stops it with SIGINT and measures
#       its storage directory.
# Then prints a table of the medians over --repeat repetitions and the ratios.
# Samples/s is acknowledged (Vitals: stored and fsynced) samples per second
# of wall time; bytes/sample is the whole storage directory after a graceful
# stop divided by the samples sent.
# It builds nothing: run `cmake --build build --target vitals-collector
# vitals_ingest_load` first. VictoriaMetrics comes from the Debian package
# victoria-metrics (scripts/setup installs it).
#
# Usage: bench/ingest_vs_victoriametrics.sh [--build DIR] [--collector PATH]
#          [--agents N] [--series N] [--rounds N] [--window N]
#          [--vm-connections N] [--repeat N] [--timeout-s N] [--keep]
#   Defaults: 100 agents x 1000 series x 60 rounds (6 M samples), window 4,
#   4 connections, 1 repetition, 1800 s timeout per run.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
collector_bin=""
agents=100
series=1000
rounds=60
window=4
vm_connections=4
repeat=1
timeout_s=1800
keep=0
vm_bin=/usr/bin/victoria-metrics

while (($#)); do
  case "$1" in
    --build) build_dir=$2; shift 2 ;;
    --collector) collector_bin=$2; shift 2 ;;
    --agents) agents=$2; shift 2 ;;
    --series) series=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --vm-connections) vm_connections=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --timeout-s) timeout_s=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
  esac
done
for n in agents series rounds window vm_connections repeat timeout_s; do
  [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || { echo "--${n//_/-} must be a positive integer" >&2; exit 2; }
done

[[ -n "$collector_bin" ]] || collector_bin="$build_dir/collector/vitals-collector"
load_bin="$build_dir/bench/vitals_ingest_load"
for bin in "$collector_bin" "$load_bin"; do
  [[ -x "$bin" ]] || { echo "missing executable: $bin (build first)" >&2; exit 2; }
done
if [[ ! -x "$vm_bin" ]]; then
  echo "VictoriaMetrics missing: installing it with scripts/setup" >&2
  "$root/scripts/setup"
fi
command -v curl >/dev/null || { echo "curl is required" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ingest_vs_vm.XXXXXX")
start_cleanup

# stop PID SIGNAL SECONDS: signals PID and waits for it, SIGKILL after SECONDS.
stop() {
  local pid=$1 sig=$2 deadline=$((SECONDS + $3))
  kill "-$sig" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      log "pid $pid did not exit within $3 s of SIG$sig: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || true
}

peak_rss_bytes() { awk '/^VmHWM:/ { print $2 * 1024 }' "/proc/$1/status"; }
# json_field JSON NAME: a number field of the load generator's summary line.
json_field() { sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" <<<"$1"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Both systems get the same timestamps: round 0 so that the last round is now.
interval_ms=10000
start_ms=$(( ($(date +%s) * 1000 / interval_ms - rounds + 1) * interval_ms ))
samples=$((agents * series * rounds))
load_args=(--agents "$agents" --series "$series" --rounds "$rounds" --start-ms "$start_ms"
           --interval-ms "$interval_ms" --seed 1 --deadline-s "$timeout_s")

run_vitals() {
  local dir=$1 ingest_port web_port pid out rc=0
  ingest_port=$(free_port)
  web_port=$(free_port "$ingest_port")
  mkdir -p "$dir"
  cat >"$dir/collector.yml" <<YML
ingest: {listen: "tcp://127.0.0.1:$ingest_port"}
web: {listen: "127.0.0.1:$web_port"}
storage: {path: "$dir/data"}
log: {level: warn}
YML
  "$collector_bin" --config "$dir/collector.yml" >"$dir/collector.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$web_port/-/ready" 60 "$pid" ||
    die "vitals-collector did not become ready; see $dir/collector.log"
  log "vitals: $agents agents x $series series x $rounds rounds, window $window"
  out=$("$load_bin" --endpoint "tcp://127.0.0.1:$ingest_port" --window "$window" \
        "${load_args[@]}" 2>"$dir/load.log") || rc=$?
  ((rc == 0)) || die "vitals_ingest_load exited $rc: $out $(tail -3 "$dir/load.log")"
  echo "$out" >"$dir/summary.json"
  peak_rss_bytes "$pid" >"$dir/rss"
  stop "$pid" TERM 120
  du -sb "$dir/data" | cut -f1 >"$dir/disk"
  log "vitals: $out"
}

run_vm() {
  local dir=$1 port pid out rc=0 month
  port=$(free_port)
  mkdir -p "$dir"
  "$vm_bin" -storageDataPath="$dir/data" -httpListenAddr="127.0.0.1:$port" \
    -retentionPeriod=100y -loggerLevel=WARN >"$dir/vm.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  wait_http "http://127.0.0.1:$port/health" 60 "$pid" ||
    die "VictoriaMetrics did not become healthy; see $dir/vm.log"
  log "victoriametrics: the same samples over $vm_connections connections"
  out=$("$load_bin" --victoriametrics-url "http://127.0.0.1:$port" \
        --vm-connections "$vm_connections" "${load_args[@]}" 2>"$dir/load.log") || rc=$?
  ((rc == 0)) || die "vitals_ingest_load (victoriametrics) exited $rc: $out $(tail -3 "$dir/load.log")"
  echo "$out" >"$dir/summary.json"
  peak_rss_bytes "$pid" >"$dir/rss"
  # Make everything searchable and merged, as Vitals has it after its stop.
  curl -sf --max-time 120 "http://127.0.0.1:$port/internal/force_flush" >/dev/null ||
    log "victoriametrics: force_flush failed"
  for month in $(ls "$dir/data/data/small" 2>/dev/null); do
    curl -sf --max-time 600 "http://127.0.0.1:$port/internal/force_merge?partition_prefix=$month" \
      >/dev/null || log "victoriametrics: force_merge of $month failed"
  done
  local deadline=$((SECONDS + 300))
  while ((SECONDS < deadline)); do
    local merges
    merges=$(curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" |
             awk '/^vm_active_merges/ { s += $2 } END { print s + 0 }')
    [[ "$merges" == 0 ]] && break
    sleep 0.5
  done
  stop "$pid" INT 120
  du -sb "$dir/data" | cut -f1 >"$dir/disk"
  log "victoriametrics: $out"
}

for ((i = 1; i <= repeat; i++)); do
  log "repetition $i of $repeat"
  run_vitals "$tmp/vitals-$i"
  run_vm "$tmp/vm-$i"
done

# stat SYSTEM WHAT: the median over repetitions.
stat() {
  local system=$1 what=$2 i
  for ((i = 1; i <= repeat; i++)); do
    case "$what" in
      rate) json_field "$(cat "$tmp/$system-$i/summary.json")" samples_per_s ;;
      p50) json_field "$(cat "$tmp/$system-$i/summary.json")" ack_latency_p50_ms ;;
      p99) json_field "$(cat "$tmp/$system-$i/summary.json")" ack_latency_p99_ms ;;
      rss) awk '{ print $1 / 1048576 }' "$tmp/$system-$i/rss" ;;
      bps) awk -v n="$samples" '{ print $1 / n }' "$tmp/$system-$i/disk" ;;
    esac
  done | median
}

echo
echo "ingest: $agents agents x $series series x $rounds rounds = $samples samples," \
     "median of $repeat run(s), $(nproc) CPUs"
echo "collector: $collector_bin"
echo "victoriametrics: $vm_bin (package $(dpkg-query -W -f='${Version}' victoria-metrics 2>/dev/null || echo unknown))"
printf '%-22s %16s %16s %16s\n' "" "vitals" "victoriametrics" "vitals/vm"
row() {
  local label=$1 fmt=$2 v m
  v=$(stat vitals "$3")
  m=$(stat vm "$3")
  printf "%-22s $fmt $fmt %16s\n" "$label" "$v" "$m" \
    "$(awk -v a="$v" -v b="$m" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
}
row "samples/s" "%16.0f" rate
row "peak RSS (MiB)" "%16.1f" rss
row "disk (bytes/sample)" "%16.2f" bps
row "latency p50 (ms)" "%16.2f" p50
row "latency p99 (ms)" "%16.2f" p99
echo "latency: vitals = batch send to ack (stored, fsynced); vm = HTTP request (buffered, not yet stored)"
