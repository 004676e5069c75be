#!/usr/bin/env bash
# Disk use of the Vitals storage engine against VictoriaMetrics single-node on
# the SAME samples after compaction (issue #4: "at most 1.0 byte per sample
# after compaction ...; report the ratio to VictoriaMetrics' disk use").
#
#   (a) vitals_disk_compare generates BM_DiskBytesPerSample's data set (the
#       fleet of bench/datagen.h, seed 42: 1,000 series x 8,640 rounds at 10 s
#       = 8.64 M samples from 2023-11-14T22:13Z), fills a scratch store with it
#       as that benchmark does (Append, Maintain, Compact), reports its SST and
#       directory bytes, and writes the samples in the Prometheus text format;
#   (b) VictoriaMetrics starts on a free port with its storage in a temporary
#       directory (-retentionPeriod=100y: the samples are years old), gets the
#       file through /api/v1/import/prometheus in requests of --lines lines,
#       and the script checks that it stored every sample: rows added
#       (vm_rows_added_to_storage_total) equal the sample count, none ignored
#       or invalid, count_over_time summed over all series equals it too,
#       every series has --rounds samples, and one host's series (every kind
#       of series) read back with the very timestamps and values that were
#       sent. Then force_flush, force_merge of every partition, a wait until no
#       merge runs, each partition is one part and the parts hold every
#       sample (vm_rows), vm_data_size_bytes read, SIGINT, and its storage
#       directory measured.
# Prints a table of bytes and bytes per sample, and the ratios Vitals / VM:
# SST files against VM's data and indexdb directories (the data and index of
# both), and the whole store directory against VM's whole storage directory
# (VM's includes its persisted caches, Vitals' its write-ahead log).
# With --recording FILE, both get a recording of real agent output instead
# (bench/data/agent-recording.prom.gz, made by bench/record_agent.sh:
# Prometheus text with millisecond timestamps, gzip'ed or plain):
# vitals_disk_compare --recording fills the store with it (time order, batches
# of up to 1,000 samples, same Append/Maintain/Compact path) and must append
# every sample; VictoriaMetrics imports the file as it is; the checks are the
# same except that the read-back covers every sample of the recording (VM's
# export of all series, line for line against the file), and the series and
# samples expected are the recording's. VictoriaMetrics drops NaN values that
# are not staleness markers: if the recording holds NaN, they are left out of
# what VM is expected to hold (and said so); bytes per sample divide by all.
# It builds nothing: run `cmake --build BUILD --target vitals_disk_compare`
# first (a Release build). VictoriaMetrics comes from the Debian package
# victoria-metrics (scripts/setup installs it). Needs about 2.5 GB in TMPDIR.
#
# Usage: bench/disk_vs_victoriametrics.sh [--build DIR] [--series N]
#          [--rounds N] [--recording FILE] [--lines N] [--timeout-s N] [--keep]
#   Defaults: build dir build, 1000 series x 8640 rounds (BM_DiskBytesPerSample's
#   data set; other sizes are for trying the script out), 50000 lines per
#   import request, 600 s timeout for each wait on VictoriaMetrics.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir="$root/build"
series=1000
rounds=8640
lines=50000
timeout_s=600
keep=0
recording=""
vm_bin=/usr/bin/victoria-metrics

while (($#)); do
  case "$1" in
    --build) build_dir=$2; shift 2 ;;
    --series) series=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --recording) recording=$2; shift 2 ;;
    --lines) lines=$2; shift 2 ;;
    --timeout-s) timeout_s=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown argument: $1" >&2; usage 2 >&2 ;;
  esac
done
for n in series rounds lines timeout_s; do
  [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || { echo "--${n//_/-} must be a positive integer" >&2; exit 2; }
done

[[ -z "$recording" || -r "$recording" ]] || { echo "cannot read --recording $recording" >&2; exit 2; }
tool_bin="$build_dir/bench/vitals_disk_compare"
[[ -x "$tool_bin" ]] || { echo "missing executable: $tool_bin (build first)" >&2; exit 2; }
if [[ ! -x "$vm_bin" ]]; then
  echo "VictoriaMetrics missing: installing it with scripts/setup" >&2
  "$root/scripts/setup"
fi
for cmd in curl jq split; do
  command -v "$cmd" >/dev/null || { echo "$cmd is required" >&2; exit 2; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/disk_vs_vm.XXXXXX")
start_cleanup

# json_field JSON NAME: a number field of a one-line JSON object.
json_field() { sed -n "s/.*\"$2\":\([-0-9.e+]*\).*/\1/p" <<<"$1"; }
# metric URL SELECTOR: the sum of the /metrics lines whose name{labels} starts
# with SELECTOR (0 if none).
metric() {
  curl -sf --max-time 10 "$1/metrics" |
    awk -v sel="$2" 'index($1, sel) == 1 { s += $2 } END { printf "%.0f\n", s }'
}
# query URL PROMQL TIME: the values of an instant query, one per line.
query() {
  curl -sf --max-time 300 "$1/api/v1/query" --data-urlencode "query=$2" \
    --data-urlencode "time=$3" | jq -r '.data.result[].value[1]'
}
# wait_for DESCRIPTION COMMAND...: until COMMAND succeeds, for --timeout-s.
wait_for() {
  local what=$1 deadline=$((SECONDS + timeout_s))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || die "timed out after $timeout_s s waiting for $what"
    sleep 0.2
  done
}

# --- (a) Vitals ------------------------------------------------------------
vm_expected_nan=0  # NaN samples, which VictoriaMetrics drops (see above).
if [[ -n "$recording" ]]; then
  log "vitals: the recording $recording into a scratch store"
  vitals=$(TMPDIR="$tmp" "$tool_bin" --recording "$recording")
  log "vitals: $vitals"
  samples=$(json_field "$vitals" samples)
  series=$(json_field "$vitals" series)
  for field in appended chunk_samples; do
    [[ "$(json_field "$vitals" "$field")" == "$samples" ]] ||
      die "vitals_disk_compare: $field is not $samples: $vitals"
  done
  for field in duplicates rejected; do
    [[ "$(json_field "$vitals" "$field")" == 0 ]] ||
      die "vitals_disk_compare: $field is not 0: $vitals"
  done
  # The file as VictoriaMetrics gets it, and as the read-back compares it.
  gzip -dcf "$recording" | grep -v '^#' | grep -v '^$' >"$tmp/samples.prom" || true
  vm_expected_nan=$(awk '$(NF - 1) ~ /^[Nn][Aa][Nn]$/ { n++ } END { print n + 0 }' "$tmp/samples.prom")
  ((vm_expected_nan == 0)) ||
    log "note: $vm_expected_nan NaN samples in the recording; VictoriaMetrics drops them"
  awk '$(NF - 1) !~ /^[Nn][Aa][Nn]$/' "$tmp/samples.prom" >"$tmp/check_sent.txt"
else
  samples=$((series * rounds))
  log "vitals: $series series x $rounds rounds = $samples samples into a scratch store"
  # The scratch store lives in $tmp too, so nothing outlives the script.
  vitals=$(TMPDIR="$tmp" "$tool_bin" --series "$series" --rounds "$rounds" \
           --export "$tmp/samples.prom")
  log "vitals: $vitals"
  for field in samples chunk_samples export_lines; do
    [[ "$(json_field "$vitals" "$field")" == "$samples" ]] ||
      die "vitals_disk_compare: $field is not $samples: $vitals"
  done
  [[ "$(json_field "$vitals" export_non_finite)" == 0 ]] ||
    log "note: the samples hold NaN or Inf values; a stale marker cannot be told from NaN in text"
  # One host's series, all kinds, for the read-back check.
  grep -F 'agent="host-1000"' "$tmp/samples.prom" >"$tmp/check_sent.txt"
fi
first_ms=$(json_field "$vitals" first_timestamp_ms)
last_ms=$(json_field "$vitals" last_timestamp_ms)
sst_bytes=$(json_field "$vitals" sst_bytes)
vitals_dir_bytes=$(json_field "$vitals" dir_bytes)
vm_samples=$((samples - vm_expected_nan))
# What is read back: one host of the generated fleet, or the whole recording.
if [[ -n "$recording" ]]; then check_match='{__name__=~".+"}'; else check_match='{agent="host-1000"}'; fi

# --- (b) VictoriaMetrics ---------------------------------------------------
mkdir -p "$tmp/parts"
split -l "$lines" -d -a 6 --additional-suffix=.prom "$tmp/samples.prom" "$tmp/parts/"
((keep)) || rm -f "$tmp/samples.prom"

port=$(free_port)
vm="http://127.0.0.1:$port"
vm_data="$tmp/vm"
"$vm_bin" -storageDataPath="$vm_data" -httpListenAddr="127.0.0.1:$port" \
  -retentionPeriod=100y -search.disableCache -loggerLevel=WARN >"$tmp/vm.log" 2>&1 &
vm_pid=$!
pids+=("$vm_pid")
wait_http "$vm/health" 60 "$vm_pid" || die "VictoriaMetrics did not become healthy; see $tmp/vm.log"

rows_before=$(metric "$vm" vm_rows_added_to_storage_total)
parts=("$tmp"/parts/*.prom)
log "victoriametrics: importing $samples samples in ${#parts[@]} requests of up to $lines lines"
for part in "${parts[@]}"; do
  code=$(curl -s -o "$tmp/import.out" -w '%{http_code}' --max-time 600 \
         -H 'Content-Type: text/plain' --data-binary "@$part" "$vm/api/v1/import/prometheus")
  [[ "$code" == 2* ]] || die "import of $part: HTTP $code $(head -c 300 "$tmp/import.out")"
  ((keep)) || rm -f "$part"
done
rows_added_all() {
  (($(metric "$vm" vm_rows_added_to_storage_total) - rows_before >= vm_samples))
}
wait_for "vm_rows_added_to_storage_total to count $vm_samples samples" rows_added_all
curl -sf --max-time 120 "$vm/internal/force_flush" >/dev/null || die "force_flush failed"

# Every sample stored, and stored as sent.
rows_added=$(($(metric "$vm" vm_rows_added_to_storage_total) - rows_before))
ignored=$(metric "$vm" vm_rows_ignored_total)
invalid=$(metric "$vm" vm_rows_invalid_total)
# Instant queries at the last sample over a window reaching before the first.
at=$(((last_ms + 999) / 1000))
window="$(((last_ms - first_ms) / 1000 + 3600))s"
counted=$(query "$vm" "sum(count_over_time({__name__=~\".+\"}[$window]))" "$at")
series_counted=$(query "$vm" "count(count_over_time({__name__=~\".+\"}[$window]))" "$at")
per_series=""
[[ -n "$recording" ]] ||
  per_series=$(query "$vm" "count(count_over_time({__name__=~\".+\"}[$window]) != $rounds)" "$at")
log "victoriametrics: rows added $rows_added, ignored $ignored, invalid $invalid;" \
    "count_over_time $counted over $series_counted series"
((rows_added == vm_samples)) || die "VictoriaMetrics added $rows_added rows, not $vm_samples"
((ignored == 0 && invalid == 0)) || die "VictoriaMetrics ignored $ignored and refused $invalid rows"
[[ "$counted" == "$vm_samples" ]] || die "count_over_time gives ${counted:-nothing}, not $vm_samples"
[[ "$series_counted" == "$series" ]] || die "VictoriaMetrics has ${series_counted:-no} series, not $series"
[[ -z "$per_series" ]] || die "$per_series series do not have $rounds samples each"
# Read-back: VM's export of $check_match, as `series value timestamp` lines
# like the ones sent (label values escaped as the text format does),
# compared value by value as doubles.
curl -sf --max-time 300 "$vm/api/v1/export" --data-urlencode "match[]=$check_match" |
  jq -r '(.metric.__name__ + "{" + ([.metric | to_entries[] | select(.key != "__name__")]
          | sort_by(.key) | map(.key + "=\"" + (.value | gsub("\\\\"; "\\\\")
          | gsub("\""; "\\\"") | gsub("\n"; "\\n")) + "\"") | join(",")) + "}") as $s
         | range(0; .values | length) as $i | "\($s) \(.values[$i]) \(.timestamps[$i])"' \
  >"$tmp/check_stored.txt"
# Splits a line into series text, value and timestamp at its last two spaces.
# VictoriaMetrics keeps values as decimals of at most 15 to 16 significant
# digits, so a double that is not the shortest decimal of its value (float
# noise such as 367.59585200000004, which the agent sends) comes back as
# 367.595852: such a value counts as rounded (relative difference at most
# 1e-15), any other difference as a mismatch.
read -r mismatches rounded checked < <(awk '
  function parse(line) {
    t = substr(line, match(line, / [^ ]+$/) + 1); line = substr(line, 1, RSTART - 1)
    v = substr(line, match(line, / [^ ]+$/) + 1); key = substr(line, 1, RSTART - 1) " " t
  }
  function abs(x) { return x < 0 ? -x : x }
  NR == FNR { parse($0); stored[key] = v; next }
  { parse($0); sent++
    if (!(key in stored)) { bad++; next }
    s = stored[key] + 0; v += 0
    if (s == v) next
    if (abs(s - v) <= 1e-15 * abs(v)) rounded++; else bad++ }
  END { printf "%d %d %d\n", bad, rounded, sent }' "$tmp/check_stored.txt" "$tmp/check_sent.txt")
stored_lines=$(wc -l <"$tmp/check_stored.txt")
log "victoriametrics: read back $checked samples of $check_match: $mismatches differ," \
    "$rounded rounded to 15 significant digits"
((checked > 0 && mismatches == 0 && stored_lines == checked)) ||
  die "VictoriaMetrics returned $stored_lines samples of $check_match, $mismatches of $checked sent differ"

# Fully merged, as Vitals is after Compact.
months=$(for d in "$vm_data"/data/{small,big}/[0-9][0-9][0-9][0-9]_[0-9][0-9]; do
           if [[ -d "$d" ]]; then basename "$d"; fi
         done | sort -u)
partitions=$(wc -w <<<"$months")
for month in $months; do
  curl -sf --max-time 600 "$vm/internal/force_merge?partition_prefix=$month" >/dev/null ||
    die "force_merge of $month failed"
done
# storage SUFFIX: a storage/small + storage/big metric, e.g. storage vm_parts.
storage() {
  echo $(($(metric "$vm" "$1{type=\"storage/small\"}") + $(metric "$vm" "$1{type=\"storage/big\"}")))
}
# force_merge merges in the background: done once no merge runs, each
# partition is down to one part and the parts hold every sample (vm_rows
# counts rows in parts, not those still in memory).
merged() {
  (($(metric "$vm" vm_active_merges) == 0 && $(storage vm_parts) <= partitions &&
    $(storage vm_rows) == vm_samples))
}
wait_for "the forced merge of $months" merged
vm_parts=$(storage vm_parts)
vm_storage_size=$(storage vm_data_size_bytes)
vm_data_size=$(metric "$vm" vm_data_size_bytes)

kill -INT "$vm_pid"
deadline=$((SECONDS + 120))
while kill -0 "$vm_pid" 2>/dev/null; do
  ((SECONDS < deadline)) || { kill -KILL "$vm_pid"; die "VictoriaMetrics did not stop on SIGINT"; }
  sleep 0.1
done
wait "$vm_pid" 2>/dev/null || true
vm_dir_bytes=$(du -sb "$vm_data" | cut -f1)
vm_index_data_bytes=$(du -sbc "$vm_data/data" "$vm_data/indexdb" | tail -1 | cut -f1)
vm_cache_bytes=$(du -sb "$vm_data/cache" | cut -f1)

# --- Table -----------------------------------------------------------------
per() { awk -v a="$1" -v n="$samples" 'BEGIN { printf "%.3f", a / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo
if [[ -n "$recording" ]]; then
  nan_note=""
  ((vm_expected_nan == 0)) || nan_note=" (VictoriaMetrics: all but the $vm_expected_nan NaN)"
  echo "disk after compaction: the recording $recording, $series series, $samples samples" \
       "over $(((last_ms - first_ms) / 1000)) s, every one stored by both$nan_note"
else
  data_set=""
  ((series == 1000 && rounds == 8640)) && data_set=" (BM_DiskBytesPerSample's data set)"
  echo "disk after compaction: $series series x $rounds rounds at 10 s = $samples samples$data_set," \
       "every one stored by both"
fi
((rounded == 0)) || echo "  (VictoriaMetrics rounded $rounded of the $checked values read back to 15 significant digits)"
echo "vitals: $tool_bin"
echo "victoriametrics: $vm_bin (package $(dpkg-query -W -f='${Version}' victoria-metrics 2>/dev/null ||
     echo unknown)), $partitions partition(s), $vm_parts part(s) after force_merge"
printf '%-46s %14s %14s\n' "" "bytes" "bytes/sample"
row() { printf '%-46s %14s %14s\n' "$1" "$2" "$(per "$2")"; }
row "vitals SST files" "$sst_bytes"
row "vitals store directory (files)" "$vitals_dir_bytes"
row "victoriametrics data parts (vm_data_size_bytes)" "$vm_storage_size"
row "victoriametrics data + indexdb (du -sb)" "$vm_index_data_bytes"
row "victoriametrics whole directory (du -sb)" "$vm_dir_bytes"
echo "  (of which cache/: $vm_cache_bytes bytes; all vm_data_size_bytes: $vm_data_size)"
echo "ratio vitals SST / vm data + indexdb:            $(ratio "$sst_bytes" "$vm_index_data_bytes")"
echo "ratio vitals SST / vm data parts:                $(ratio "$sst_bytes" "$vm_storage_size")"
echo "ratio vitals directory / vm whole directory:     $(ratio "$vitals_dir_bytes" "$vm_dir_bytes")"
