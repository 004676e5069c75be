#!/usr/bin/env bash
# Records real vitals-agent output on this host, for the storage benchmarks
# (issue #4: "... and also a recording of real agent output").
#
# What it records: one vitals-agent (agent_id rec-01, labels env=prod and
# dc=fra1) measuring this host's vitals and running 10 checks, all every
# --interval (default 1s), for --rounds rounds (default 600: 10 minutes). The
# checks run against things this script starts locally, as
# bench/agent_footprint.sh does:
#   tcp   node_exporter's port, redis-server's port, and a port nobody
#         listens on (a check that fails all the time, as some always do)
#   http  node_exporter's landing page and its /metrics page
#   redis redis-server (loads the agent's redis backend)
#   dns   localhost A and AAAA (answered without a query, RFC 6761)
#   exec  two Nagios-style plugins (OK with performance data, and WARNING)
# Without redis-server, a second exec plugin takes the redis check's place.
#
# How: the agent's collector endpoint is a free port nobody listens on, so
# every batch it makes stays in its spool. After the last round the agent is
# stopped with SIGTERM and bench/spool_export.cc (vitals_spool_export) turns
# the spool into Prometheus text exposition with millisecond timestamps, one
# sample per line, with the labels a collector would store (agent and
# instance set to the agent id, plus the agent's labels); gzip -9 writes it to
# --output (default bench/data/agent-recording.prom.gz). VictoriaMetrics'
# /api/v1/import/prometheus takes the file as it is (after gunzip), and
# vitals_disk_compare --recording reads it.
#
# It builds nothing: build vitals-agent and vitals_spool_export first (a
# Release build, e.g. cmake -DCMAKE_BUILD_TYPE=Release -DVITALS_BUILD_BENCH=ON
# -B build-rel && cmake --build build-rel --target vitals-agent vitals_spool_export).
# Takes --rounds x --interval plus a few seconds.
#
# Usage: bench/record_agent.sh [--build DIR] [--rounds N] [--interval SECONDS]
#                              [--output FILE] [--node-exporter PATH] [--keep]
#   --keep leaves the temporary directory (spool, configuration, logs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir="$script_dir/../build"
rounds=600
interval_s=1
output="$script_dir/data/agent-recording.prom.gz"
node_exporter=/usr/bin/prometheus-node-exporter
keep=0
agent_id=rec-01

while (($#)); do
  case "$1" in
    --build) build_dir=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --interval) interval_s=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --node-exporter) node_exporter=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "--rounds must be a positive integer" >&2; exit 2; }
[[ "$interval_s" =~ ^[1-9][0-9]*$ ]] || { echo "--interval must be whole seconds" >&2; exit 2; }

agent_bin="$build_dir/agent/vitals-agent"
export_bin="$build_dir/bench/vitals_spool_export"
for bin in "$agent_bin" "$node_exporter"; do
  [[ -x "$bin" ]] || { echo "missing executable: $bin (build first)" >&2; exit 2; }
done
# Checked again before the export: a failed export keeps the recorded spool.
[[ -x "$export_bin" ]] || log "warning: $export_bin is missing; build it before the recording ends"
command -v curl >/dev/null || { echo "curl is required" >&2; exit 2; }
mkdir -p "$(dirname "$output")"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/record_agent.XXXXXX")
start_cleanup

nobody_port=$(free_port)  # The collector endpoint: every batch stays spooled.
closed_port=$(free_port "$nobody_port")
ne_port=$(free_port "$nobody_port" "$closed_port")
redis_port=$(free_port "$nobody_port" "$closed_port" "$ne_port")

cat >"$tmp/check_ok" <<'EOF'
#!/bin/sh
echo "OK - queue depth 3 | depth=3;10;20;0 age=0.25s;5;10"
exit 0
EOF
cat >"$tmp/check_warning" <<'EOF'
#!/bin/sh
echo "WARNING - certificate renewal due in 20 days | days_left=20;30;7"
exit 1
EOF
cat >"$tmp/check_load" <<'EOF'
#!/bin/sh
read -r l1 l5 l15 _ </proc/loadavg
echo "OK - load $l1 | load1=$l1;4;8;0 load5=$l5;4;8;0 load15=$l15;4;8;0"
exit 0
EOF
chmod +x "$tmp/check_ok" "$tmp/check_warning" "$tmp/check_load"

"$node_exporter" --web.listen-address="127.0.0.1:$ne_port" >"$tmp/node_exporter.log" 2>&1 &
ne_pid=$!
pids+=("$ne_pid")
wait_http "http://127.0.0.1:$ne_port/metrics" 10 "$ne_pid" ||
  die "node_exporter did not come up; see $tmp/node_exporter.log"

have_redis=0
if command -v redis-server >/dev/null; then
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    >"$tmp/redis.log" 2>&1 &
  pids+=($!)
  for _ in {1..100}; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null; then have_redis=1; break; fi
    sleep 0.1
  done
  ((have_redis)) || die "redis-server did not come up; see $tmp/redis.log"
else
  log "no redis-server: an exec check takes the redis checks' place"
fi

# Every check runs once per round; timeouts stay well inside it.
timeout_ms=$((interval_s * 500 < 2000 ? interval_s * 500 : 2000))
check() {  # name kind service, then the kind's keys as further lines
  local name=$1 kind=$2 service=$3
  shift 3
  printf '  - name: %s\n    kind: %s\n    service: %s\n    interval: %ss\n    timeout: %sms\n' \
    "$name" "$kind" "$service" "$interval_s" "$timeout_ms"
  local line
  for line in "$@"; do printf '    %s\n' "$line"; done
}
{
  check node-exporter-port tcp node-exporter "address: 127.0.0.1:$ne_port"
  check node-exporter-page http node-exporter "url: http://127.0.0.1:$ne_port/"
  check node-exporter-metrics http node-exporter "url: http://127.0.0.1:$ne_port/metrics"
  check legacy-api-port tcp legacy-api "address: 127.0.0.1:$closed_port"
  check dns-localhost dns resolver "query_name: localhost"
  check dns-localhost6 dns resolver "query_name: localhost" "record_type: AAAA"
  check queue exec worker "command: [$tmp/check_ok]"
  check certificate exec worker "command: [$tmp/check_warning]"
  if ((have_redis)); then
    check redis-port tcp cache "address: 127.0.0.1:$redis_port"
    check redis-cache redis cache "address: 127.0.0.1:$redis_port"
  else
    check load exec host "command: [$tmp/check_load]"
    check queue-2 exec worker "command: [$tmp/check_ok]"
  fi
} >"$tmp/checks.yml"

cat >"$tmp/agent.yml" <<EOF
agent_id: $agent_id
labels:
  env: prod
  dc: fra1
interval: ${interval_s}s
collector:
  endpoint: tcp://127.0.0.1:$nobody_port
spool:
  dir: $tmp/spool
modes:
  dir: $tmp/modes
log:
  level: warn
checks:
$(cat "$tmp/checks.yml")
EOF

"$agent_bin" --config "$tmp/agent.yml" >"$tmp/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")

# From the first spooled batch on, --rounds intervals, less half an interval
# so the round due at the very end does not make it one more.
spooled_batches() {
  "$agent_bin" --spool-status "$tmp/spool" 2>/dev/null | awk '$1 == "batches" { print $2 }'
}
for _ in {1..200}; do
  kill -0 "$agent_pid" 2>/dev/null || die "the agent exited; its log: $(cat "$tmp/agent.log")"
  (($(spooled_batches || echo 0) > 0)) && break
  sleep 0.05
done
(($(spooled_batches || echo 0) > 0)) || die "the agent spooled nothing in 10 s; see $tmp/agent.log"
log "recording $rounds rounds of ${interval_s}s from agent $agent_id..."
sleep "$(awk -v r="$rounds" -v i="$interval_s" 'BEGIN { printf "%.3f", r * i - i / 2 }')"
kill -0 "$agent_pid" 2>/dev/null || die "the agent exited early; its log: $(cat "$tmp/agent.log")"
kill -TERM "$agent_pid"
for _ in {1..300}; do
  kill -0 "$agent_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$agent_pid" 2>/dev/null && die "the agent did not stop within 30 s of SIGTERM"
wait "$agent_pid" 2>/dev/null || true
log "agent stopped: $("$agent_bin" --spool-status "$tmp/spool" | tr '\n' ' ')"

# On failure the temporary directory stays, spool and agent.yml included: the
# export can be rerun by hand with the same arguments.
if ! "$export_bin" --spool "$tmp/spool" --agent "$agent_id" --label env=prod --label dc=fra1 \
     --output "$tmp/recording.prom" 2>"$tmp/export.log"; then
  keep=1
  die "export with $export_bin failed: $(cat "$tmp/export.log" 2>/dev/null)"
fi
log "export: $(cat "$tmp/export.log")"
gzip -9 -n -c "$tmp/recording.prom" >"$output.tmp"
mv "$output.tmp" "$output"

samples=$(wc -l <"$tmp/recording.prom")
series=$(awk '{ sub(/ [^ ]+ [^ ]+$/, ""); print }' "$tmp/recording.prom" | sort -u | wc -l)
timestamps=$(awk '{ print $NF }' "$tmp/recording.prom" | sort -u | wc -l)
echo
echo "recorded: agent $agent_id on $(uname -sr), $(nproc) CPUs; host vitals + 10 checks every ${interval_s}s"
echo "  $samples samples, $series series, $timestamps distinct timestamps (rounds: $rounds)"
echo "  $output: $(stat -c %s "$output") bytes gzip -9 ($(stat -c %s "$tmp/recording.prom") bytes of text)"
