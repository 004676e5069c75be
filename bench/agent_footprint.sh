#!/usr/bin/env bash
# Footprint of vitals-agent against prometheus-node-exporter, measured in the
# same run on this host: CPU per measurement cycle and resident memory, for the
# configuration of issue #3: host vitals plus 10 dependency checks, every 10 s.
#
# Starts a vitals-collector (temporary config and storage), a vitals-agent
# that measures the host and runs 10 checks against things this script starts
# locally, and a node_exporter that this script scrapes once per cycle, as a
# Prometheus with the same interval would. The 10 checks:
#   tcp   the collector's ingest and web ports, node_exporter's port
#   http  the collector's /-/ready and /-/healthy, node_exporter's landing page
#   dns   localhost A and AAAA (answered without a query, RFC 6761)
#   exec  two Nagios-style plugins (OK with performance data, and WARNING)
# With --databases, a real redis-server and PostgreSQL (if installed) are
# started and a redis and a postgres check replace node_exporter's tcp and
# http checks, so those backends are loaded too.
#
# Cycle: the agent's interval and every check's interval are the same
# (--interval, default 10s, the issue's figure), and the script samples once
# per interval. Each cycle then holds exactly one host round and one run of
# every check (the checks' start offsets are random but fixed, so each falls
# once into every interval-long window), which makes the per-cycle figures
# comparable and their median sound. With a 1 s host interval and 10 s checks,
# nine cycles in ten would hold no check and the median would hide them.
# 10 s cycles make a run long: the default 30 cycles take 5 minutes.
#
# What is measured, per process:
#   - CPU per cycle, median: of the per-cycle deltas of the threads' on-CPU
#     nanoseconds (/proc/<pid>/task/*/schedstat). Threads that exit during a
#     cycle are missed, so this can only under-count; the agent's threads are
#     all long-lived (a check's program is its own process, not counted).
#     For the agent it is also split by thread: the main loop (host probes,
#     encoding, spool, sending), the check workers, ZeroMQ's I/O threads.
#   - CPU per cycle, mean: utime+stime (/proc/<pid>/stat, all threads, exited
#     ones too) over the whole run divided by the number of cycles. Clock-tick
#     resolution (10 ms), which is why it is taken over the whole run.
#   - RSS: median of VmRSS (/proc/<pid>/status) sampled every cycle; PSS
#     likewise (/proc/<pid>/smaps_rollup), which splits the pages of shared
#     libraries among the processes that map them. At the end, the agent's
#     RSS by mapping (/proc/<pid>/smaps), largest first.
# It builds nothing: build vitals-agent and vitals-collector first (a Release
# build, e.g. cmake -DCMAKE_BUILD_TYPE=Release -B build-rel).
#
# Usage: bench/agent_footprint.sh [--build DIR] [--cycles N] [--interval SECONDS]
#                                 [--node-exporter PATH] [--databases] [--no-fsync] [--keep]
#   --no-fsync runs the agent with spool.fsync: false, to show what durability
#   against power loss costs. --keep leaves the temporary directory.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir="$script_dir/../build"
cycles=30
interval_s=10
spool_fsync=true
databases=0
keep=0
node_exporter=/usr/bin/prometheus-node-exporter

while (($#)); do
  case "$1" in
    --build) build_dir=$2; shift 2 ;;
    --cycles) cycles=$2; shift 2 ;;
    --interval) interval_s=$2; shift 2 ;;
    --node-exporter) node_exporter=$2; shift 2 ;;
    --databases) databases=1; shift ;;
    --no-fsync) spool_fsync=false; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
  esac
done
[[ "$cycles" =~ ^[1-9][0-9]*$ ]] || { echo "--cycles must be a positive integer" >&2; exit 2; }
[[ "$interval_s" =~ ^[1-9][0-9]*$ ]] || { echo "--interval must be whole seconds" >&2; exit 2; }

agent_bin="$build_dir/agent/vitals-agent"
collector_bin="$build_dir/collector/vitals-collector"
for bin in "$agent_bin" "$collector_bin" "$node_exporter"; do
  [[ -x "$bin" ]] || { echo "missing executable: $bin (build first)" >&2; exit 2; }
done
command -v curl >/dev/null || { echo "curl is required" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/agent_footprint.XXXXXX")
start_cleanup

# Waits up to 10 s for `url` to answer; shows the log of `what` if it does not.
wait_up() {
  local url=$1 what=$2 pid=$3
  wait_http "$url" 10 "$pid" && return
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

# On-CPU nanoseconds of the live threads of $1, as "total main checks zmq other".
# The main loop is the thread whose tid is the pid; check workers and the
# statvfs worker are named by the agent (vitals-check, vitals-statvfs).
cpu_ns_split() {
  local pid=$1 task comm ns total=0 main=0 checks=0 zmq=0 other=0
  for task in /proc/"$pid"/task/*; do
    { read -r comm <"$task/comm" && read -r ns _ <"$task/schedstat"; } 2>/dev/null || continue
    total=$((total + ns))
    if [[ "${task##*/}" == "$pid" ]]; then main=$((main + ns))
    elif [[ "$comm" == vitals-check* ]]; then checks=$((checks + ns))
    elif [[ "$comm" == ZMQbg* ]]; then zmq=$((zmq + ns))
    else other=$((other + ns)); fi
  done
  echo "$total $main $checks $zmq $other"
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
redis_port=$(free_port "$ingest_port" "$web_port" "$ne_port")
pg_port=$(free_port "$ingest_port" "$web_port" "$ne_port" "$redis_port")

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

# Nagios-style plugins: status by exit code, message | performance data.
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
chmod +x "$tmp/check_ok" "$tmp/check_warning"

# Every check runs once per cycle; timeouts stay well inside it.
timeout_ms=$((interval_s * 500 < 2000 ? interval_s * 500 : 2000))
check() {  # name kind service, then the kind's keys as further lines
  local name=$1 kind=$2 service=$3
  shift 3
  printf '  - name: %s\n    kind: %s\n    service: %s\n    interval: %ss\n    timeout: %sms\n' \
    "$name" "$kind" "$service" "$interval_s" "$timeout_ms"
  local line
  for line in "$@"; do printf '    %s\n' "$line"; done
}

"$collector_bin" --config "$tmp/collector.yml" >"$tmp/collector.log" 2>&1 &
collector_pid=$!
pids+=("$collector_pid")

"$node_exporter" --web.listen-address="127.0.0.1:$ne_port" >"$tmp/node_exporter.log" 2>&1 &
ne_pid=$!
pids+=("$ne_pid")
ne_url="http://127.0.0.1:$ne_port/metrics"

db_checks=()
if ((databases)); then
  command -v redis-server >/dev/null || die "--databases needs redis-server"
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    >"$tmp/redis.log" 2>&1 &
  pids+=($!)
  db_checks+=("$(check redis-cache redis cache "address: 127.0.0.1:$redis_port")")
  if command -v initdb >/dev/null && command -v postgres >/dev/null; then
    # PostgreSQL refuses to run as root: then it runs as the postgres user.
    as_pg=()
    mkdir -p "$tmp/pg" "$tmp/pgsock"
    if (($(id -u) == 0)); then
      id postgres >/dev/null 2>&1 || die "running as root: --databases needs a postgres user"
      chmod 711 "$tmp"
      chown postgres: "$tmp/pg" "$tmp/pgsock"
      as_pg=(setpriv --reuid=postgres --regid=postgres --clear-groups)
    fi
    "${as_pg[@]}" initdb -D "$tmp/pg" -U vitals --auth=trust >"$tmp/initdb.log" 2>&1 ||
      die "initdb failed: $(tail -3 "$tmp/initdb.log")"
    "${as_pg[@]}" postgres -D "$tmp/pg" -p "$pg_port" -k "$tmp/pgsock" \
      -c listen_addresses=127.0.0.1 >"$tmp/postgres.log" 2>&1 &
    pg_pid=$!
    pids+=("$pg_pid")
    # A fast shutdown before the other processes are killed: a postmaster
    # killed with -9 leaves its children behind for a while.
    trap 'kill -INT "$pg_pid" 2>/dev/null; wait "$pg_pid" 2>/dev/null; cleanup' EXIT
    export VITALS_BENCH_PG_DSN="host=127.0.0.1 port=$pg_port user=vitals dbname=postgres"
    db_checks+=("$(check orders-db postgres orders "dsn_env: VITALS_BENCH_PG_DSN")")
  else
    log "no PostgreSQL found; a second tcp check takes its place"
    db_checks+=("$(check redis-port tcp cache "address: 127.0.0.1:$redis_port")")
  fi
fi

{
  check collector-ingest tcp collector "address: 127.0.0.1:$ingest_port"
  check collector-web tcp collector "address: 127.0.0.1:$web_port"
  check collector-ready http collector "url: http://127.0.0.1:$web_port/-/ready"
  check collector-healthy http collector "url: http://127.0.0.1:$web_port/-/healthy"
  check dns-localhost dns resolver "query_name: localhost"
  check dns-localhost6 dns resolver "query_name: localhost" "record_type: AAAA"
  check queue exec worker "command: [$tmp/check_ok]"
  check certificate exec worker "command: [$tmp/check_warning]"
  if ((databases)); then
    printf '%s\n' "${db_checks[@]}"
  else
    check node-exporter-port tcp node-exporter "address: 127.0.0.1:$ne_port"
    check node-exporter-page http node-exporter "url: http://127.0.0.1:$ne_port/"
  fi
} >"$tmp/checks.yml"

cat >"$tmp/agent.yml" <<EOF
agent_id: footprint
interval: ${interval_s}s
collector:
  endpoint: tcp://127.0.0.1:$ingest_port
spool:
  dir: $tmp/spool
  fsync: $spool_fsync
modes:
  dir: $tmp/modes
log:
  level: warn
checks:
$(cat "$tmp/checks.yml")
EOF
[[ $(grep -c '^  - name:' "$tmp/agent.yml") == 10 ]] || die "expected 10 checks in $tmp/agent.yml"

wait_up "http://127.0.0.1:$web_port/-/ready" collector "$collector_pid"
wait_up "$ne_url" node_exporter "$ne_pid"
if ((databases)); then
  for _ in {1..100}; do
    (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null && break
    sleep 0.1
  done
fi

"$agent_bin" --config "$tmp/agent.yml" >"$tmp/agent.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")

# Long enough for every check's first run (each starts within one interval)
# and for the first batches to be acknowledged.
warmup_s=$((interval_s + 3))
log "warming up for ${warmup_s}s, then measuring $cycles cycles of ${interval_s}s..."
sleep "$warmup_s"
alive "$agent_pid" agent

agent_ticks0=$(cpu_ticks "$agent_pid")
ne_ticks0=$(cpu_ticks "$ne_pid")
read -r a_tot0 a_main0 a_chk0 a_zmq0 a_oth0 < <(cpu_ns_split "$agent_pid")
read -r ne_tot0 _ < <(cpu_ns_split "$ne_pid")
agent_us=() main_us=() checks_us=() zmq_us=() other_us=() ne_us=()
agent_rss=() ne_rss=() agent_pss=() ne_pss=()
scrapes=0
interval_us=$((interval_s * 1000000))
next_us=$(( ${EPOCHREALTIME/./} + interval_us ))
for ((i = 0; i < cycles; i++)); do
  if curl -sf --max-time 5 -o /dev/null "$ne_url"; then scrapes=$((scrapes + 1)); fi
  # Sleep to the end of this cycle of the run, so each cycle is one interval.
  now_us=${EPOCHREALTIME/./}
  if ((next_us > now_us)); then
    sleep "$(printf '%d.%06d' $(((next_us - now_us) / 1000000)) $(((next_us - now_us) % 1000000)))"
  fi
  next_us=$((next_us + interval_us))
  alive "$agent_pid" agent
  alive "$ne_pid" node_exporter
  read -r a_tot a_main a_chk a_zmq a_oth < <(cpu_ns_split "$agent_pid")
  read -r ne_tot _ < <(cpu_ns_split "$ne_pid")
  agent_us+=($(((a_tot - a_tot0) / 1000)))
  main_us+=($(((a_main - a_main0) / 1000)))
  checks_us+=($(((a_chk - a_chk0) / 1000)))
  zmq_us+=($(((a_zmq - a_zmq0) / 1000)))
  other_us+=($(((a_oth - a_oth0) / 1000)))
  ne_us+=($(((ne_tot - ne_tot0) / 1000)))
  a_tot0=$a_tot a_main0=$a_main a_chk0=$a_chk a_zmq0=$a_zmq a_oth0=$a_oth ne_tot0=$ne_tot
  agent_rss+=("$(rss_kib "$agent_pid")")
  ne_rss+=("$(rss_kib "$ne_pid")")
  agent_pss+=("$(pss_kib "$agent_pid")")
  ne_pss+=("$(pss_kib "$ne_pid")")
done
agent_ticks=$(($(cpu_ticks "$agent_pid") - agent_ticks0))
ne_ticks=$(($(cpu_ticks "$ne_pid") - ne_ticks0))
((scrapes > 0)) || die "no node_exporter scrape succeeded"

collector_metric() {
  curl -sf --max-time 5 "http://127.0.0.1:$web_port/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
batches=$(collector_metric vitals_ingest_batches_total)
samples=$(collector_metric vitals_ingest_samples_total)
checks_up=$(curl -sf --max-time 5 "http://127.0.0.1:$web_port/api/v1/query" \
  --data-urlencode 'query=count(vitals_check_up == 1)' |
  sed -n 's/.*"value":\[[^,]*,"\([0-9]*\)"\].*/\1/p')

ms_median() { printf '%s\n' "$@" | median | awk '{ print $1 / 1000 }'; }
mib_median() { printf '%s\n' "$@" | median | awk '{ print $1 / 1024 }'; }
mib_max() { printf '%s\n' "$@" | sort -n | tail -1 | awk '{ print $1 / 1024 }'; }
clk_tck=$(getconf CLK_TCK)
agent_mean=$(awk -v t="$agent_ticks" -v h="$clk_tck" -v n="$cycles" 'BEGIN { print t * 1000 / h / n }')
ne_mean=$(awk -v t="$ne_ticks" -v h="$clk_tck" -v n="$scrapes" 'BEGIN { print t * 1000 / h / n }')

row() {  # name agent node_exporter
  awk -v n="$1" -v a="$2" -v e="$3" 'BEGIN {
    printf "%-32s %12.2f %14.2f %10s\n", n, a, e, (e > 0) ? sprintf("%.2f", a / e) : "-" }'
}
part() {  # name agent
  awk -v n="$1" -v a="$2" 'BEGIN { printf "%-32s %12.2f\n", n, a }'
}
echo
echo "host: $(uname -sr), $(nproc) CPUs; $cycles cycles of ${interval_s}s; $scrapes node_exporter scrapes"
echo "agent: host vitals + 10 checks every ${interval_s}s$( ((databases)) && echo ", redis and postgres among them"); spool fsync: $spool_fsync"
echo "collector stored ${batches:-?} batches, ${samples:-?} samples; ${checks_up:-?} checks up"
printf '%-32s %12s %14s %10s\n' "" "vitals-agent" "node_exporter" "agent/ne"
row "CPU ms/cycle (median)" "$(ms_median "${agent_us[@]}")" "$(ms_median "${ne_us[@]}")"
row "CPU ms/cycle (mean, ticks)" "$agent_mean" "$ne_mean"
row "RSS MiB (median)" "$(mib_median "${agent_rss[@]}")" "$(mib_median "${ne_rss[@]}")"
row "RSS MiB (max)" "$(mib_max "${agent_rss[@]}")" "$(mib_max "${ne_rss[@]}")"
row "PSS MiB (median)" "$(mib_median "${agent_pss[@]}")" "$(mib_median "${ne_pss[@]}")"
echo "agent CPU ms/cycle by thread (medians):"
part "  main loop (host vitals, send)" "$(ms_median "${main_us[@]}")"
part "  check workers" "$(ms_median "${checks_us[@]}")"
part "  ZeroMQ I/O" "$(ms_median "${zmq_us[@]}")"
part "  other (statvfs, signals)" "$(ms_median "${other_us[@]}")"
echo
echo "agent RSS by mapping (KiB, largest first):"
awk '/^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]"; sub(/.*\//, "", name) }
     /^Rss:/ { rss[name] += $2 }
     END { for (n in rss) if (rss[n] > 0) printf "%8d  %s\n", rss[n], n }' \
  "/proc/$agent_pid/smaps" | sort -rn | head -15
echo
echo "targets: agent CPU <= 2 ms/cycle (median), agent RSS <= 8 MiB"
