#!/usr/bin/env bash
# Query latency of vitals-collector's HTTP API against Prometheus 2.42 on the
# same data, measured in the same run on this host.
#
#   1. vitals_query_load generate writes --instances x 122 series (by default
#      10,000 http_requests_total counters, 1,200 request_duration_seconds
#      histogram series, 1,000 node_filesystem_avail_bytes gauges) over
#      --hours at --interval-s as OpenMetrics;
#   2. promtool tsdb create-blocks-from openmetrics makes Prometheus blocks of
#      it and vitalsctl tsdb import openmetrics a collector storage directory;
#   3. Prometheus (retention 100y; min and max block duration 2h, so it does
#      not compact the backfilled blocks while being measured) and the
#      collector start on free ports;
#   4. vitals_query_load run sends each query of the table below to both,
#      alternating, after warm-up requests, and prints median, p90 and p99
#      latency of each and the ratio vitals / prometheus (below 1: faster).
#
# The queries are those of dashboards and alert rules: rate over 5m summed by
# a label across the 10,000 counters, an error ratio per instance,
# histogram_quantile over 1h, predict_linear over 1h; each as an instant
# query at the end of the data and as range queries over the last 1h at a
# 15s step and the whole span at a 60s step.
# It builds nothing: run `cmake --build build --target vitals-collector
# vitalsctl vitals_query_load` (Release) first. Prometheus and promtool come
# from the Debian package prometheus (scripts/setup installs it).
#
# Usage: bench/query_vs_prometheus.sh [--build DIR] [--instances N] [--hours H]
#          [--requests N] [--warmup N] [--budget-s S] [--keep]
#   Defaults: 100 instances, 6 hours at 15 s, 20 measured requests per query
#   and target (at least 5; fewer once a query has taken --budget-s 30 s),
#   3 warm-up requests.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
instances=100
hours=6
interval_s=15
requests=20
warmup=3
budget_s=30
keep=0
start_s=1700006400  # On a 2h block boundary, so the span is whole blocks.

while (($#)); do
  case "$1" in
    --build) build_dir=$2; shift 2 ;;
    --instances) instances=$2; shift 2 ;;
    --hours) hours=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --budget-s) budget_s=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
  esac
done
for n in instances hours requests budget_s; do
  [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || { echo "--${n//_/-} must be a positive integer" >&2; exit 2; }
done

collector_bin="$build_dir/collector/vitals-collector"
ctl_bin="$build_dir/ctl/vitalsctl"
load_bin="$build_dir/bench/vitals_query_load"
for bin in "$collector_bin" "$ctl_bin" "$load_bin"; do
  [[ -x "$bin" ]] || { echo "missing executable: $bin (build first)" >&2; exit 2; }
done
if [[ ! -x /usr/bin/prometheus || ! -x /usr/bin/promtool ]]; then
  echo "Prometheus missing: installing it with scripts/setup" >&2
  "$root/scripts/setup"
fi
command -v curl >/dev/null || { echo "curl is required" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/query_vs_prom.XXXXXX")
start_cleanup

log "generating $instances instances x ${hours}h at ${interval_s}s"
"$load_bin" generate --out "$tmp/data.om" --instances "$instances" --hours "$hours" \
  --interval-s "$interval_s" --start "$start_s"

log "promtool tsdb create-blocks-from openmetrics"
t0=$SECONDS
promtool tsdb create-blocks-from openmetrics "$tmp/data.om" "$tmp/prometheus-data" \
  >"$tmp/promtool.log" 2>&1 || { tail -20 "$tmp/promtool.log" >&2; die "promtool failed"; }
log "  took $((SECONDS - t0)) s"

prom_port=$(free_port)
web_port=$(free_port "$prom_port")
ingest_port=$(free_port "$prom_port" "$web_port")
cat >"$tmp/collector.yml" <<EOF
ingest:
  listen: tcp://127.0.0.1:$ingest_port
web:
  listen: 127.0.0.1:$web_port
storage:
  path: $tmp/vitals-data
  retention: 0
log:
  level: warn
EOF
log "vitalsctl tsdb import openmetrics"
t0=$SECONDS
"$ctl_bin" tsdb import openmetrics "$tmp/data.om" "$tmp/vitals-data" --config "$tmp/collector.yml" \
  >"$tmp/import.log" 2>&1 || { tail -20 "$tmp/import.log" >&2; die "import failed"; }
log "  took $((SECONDS - t0)) s: $(grep -E '^(Samples|Series):' "$tmp/import.log" | tr '\n' ' ')"
rm -f "$tmp/data.om"

cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 15s
scrape_configs: []
EOF
/usr/bin/prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/prometheus-data" \
  --storage.tsdb.retention.time=100y --storage.tsdb.min-block-duration=2h \
  --storage.tsdb.max-block-duration=2h --web.listen-address="127.0.0.1:$prom_port" \
  >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
prom_pid=$!
"$collector_bin" --config "$tmp/collector.yml" >"$tmp/collector.log" 2>&1 &
pids+=($!)
collector_pid=$!
wait_http "http://127.0.0.1:$prom_port/-/ready" 120 "$prom_pid" ||
  { tail -20 "$tmp/prometheus.log" >&2; die "Prometheus did not become ready"; }
wait_http "http://127.0.0.1:$web_port/-/ready" 120 "$collector_pid" ||
  { tail -20 "$tmp/collector.log" >&2; die "the collector did not become ready"; }

end_s=$((start_s + hours * 3600 - interval_s))  # The last sample.
hour_ago=$((end_s - 3600))
instant="time=$end_s"
last_hour="start=$hour_ago&end=$end_s&step=15"
whole="start=$start_s&end=$end_s&step=60"
queries=(
  'rate_sum_by_code|sum by (code) (rate(http_requests_total[5m]))'
  'error_ratio|sum by (instance) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (instance) (rate(http_requests_total[5m]))'
  'histogram_quantile_1h|histogram_quantile(0.99, sum by (le) (rate(request_duration_seconds_bucket[1h])))'
  'predict_linear_1h|predict_linear(node_filesystem_avail_bytes[1h], 4 * 3600) < 0'
)
: >"$tmp/queries.txt"
for q in "${queries[@]}"; do
  name=${q%%|*}
  promql=${q#*|}
  {
    echo "$name|instant|$instant|$promql"
    echo "$name|range 1h step 15s|$last_hour|$promql"
    echo "$name|range ${hours}h step 60s|$whole|$promql"
  } >>"$tmp/queries.txt"
done

log "measuring (Prometheus $(/usr/bin/prometheus --version 2>&1 | head -1 | awk '{print $3}'))"
"$load_bin" run --vitals "http://127.0.0.1:$web_port" --prometheus "http://127.0.0.1:$prom_port" \
  --queries "$tmp/queries.txt" --requests "$requests" --warmup "$warmup" --budget-s "$budget_s"
