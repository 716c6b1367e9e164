#!/usr/bin/env bash
# Soak: tools/loadgen sends remote-write traffic to train-prometheus at RATE
# samples/s for DURATION while its write-back target (a real Prometheus) is
# stopped and restarted and the adapter gets SIGHUP. Reports samples
# accepted, rejected and lost (must be 0), the 429 count, peak RSS and the
# write-back counters. Everything listens on 127.0.0.1 and is stopped at the
# end. Every 30s the load is 10 times RATE for 5s, more than the adapter
# (max_inflight_requests: 1) takes: it answers 429 and loadgen retries.
# Usage: make soak DURATION=3m RATE=50000
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

DURATION=${DURATION:-2m}
RATE=${RATE:-50000}
SERIES=${SERIES:-5000}
PROM_PORT=${PROM_PORT:-19090}
TP_PORT=${TP_PORT:-19201}
PROMETHEUS=${PROMETHEUS_BINARY:-prometheus}

case "$DURATION" in
  *m) secs=$(( ${DURATION%m} * 60 )) ;;
  *s) secs=${DURATION%s} ;;
  *) echo "DURATION must end in s or m" >&2; exit 2 ;;
esac

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/train-prometheus" ./cmd/train-prometheus
go build -o "$work/loadgen" ./tools/loadgen

wait_ready() { # url
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "soak: $1 not ready" >&2; return 1
}

echo "global: {scrape_interval: 1m}" > "$work/prometheus.yml"
start_prometheus() {
  "$PROMETHEUS" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
    --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-remote-write-receiver \
    --log.level=warn >>"$work/prometheus.log" 2>&1 &
  prom_pid=$!
  pids+=("$prom_pid")
  wait_ready "http://127.0.0.1:$PROM_PORT/-/ready"
}

cat > "$work/train-prometheus.yml" <<YAML
global: {step: 5s, window: 10m, retrain_interval: 1m, min_history: 20s, evaluation_delay: 2s}
forecasts:
  - name: load
    match: ['loadgen_series']
    models: [seasonal_naive]
remote_write:
  - url: http://127.0.0.1:$PROM_PORT/api/v1/write
    queue_config: {capacity: 500000, max_sample_age: 1h, max_backoff: 1s}
limits:
  max_series: 100000
  max_inflight_requests: 1
  max_memory_bytes: 536870912
YAML

start_prometheus
"$work/train-prometheus" --config.file="$work/train-prometheus.yml" --storage.path="$work/data" \
  --web.listen-address="127.0.0.1:$TP_PORT" --log.level=warn >"$work/train-prometheus.log" 2>&1 &
tp_pid=$!
pids+=("$tp_pid")
wait_ready "http://127.0.0.1:$TP_PORT/-/ready"

echo "soak: ${DURATION} at ${RATE} samples/s over ${SERIES} series, start=$(date +%s)"
"$work/loadgen" -url "http://127.0.0.1:$TP_PORT/api/v1/write" -metrics-url "http://127.0.0.1:$TP_PORT/metrics" \
  -duration "$DURATION" -rate "$RATE" -series "$SERIES" -samples-per-request 1000 -workers 16 \
  -burst-every 30s -burst-for 5s -burst-factor 10 >"$work/loadgen.out" 2>&1 &
lg_pid=$!
pids+=("$lg_pid")

at() { sleep "$1"; }
at $(( secs / 5 ));      echo "soak: t=$(( secs / 5 ))s SIGHUP";               kill -HUP "$tp_pid"
at $(( secs / 20 ));     echo "soak: t=$(( secs / 4 ))s stopping Prometheus";   kill "$prom_pid"; wait "$prom_pid" || true
at $(( secs / 4 ));      echo "soak: t=$(( secs / 2 ))s restarting Prometheus"; start_prometheus
at $(( secs / 10 ));     echo "soak: t=$(( secs * 6 / 10 ))s SIGHUP";          kill -HUP "$tp_pid"
at $(( secs * 15 / 100 )); echo "soak: t=$(( secs * 3 / 4 ))s SIGHUP";         kill -HUP "$tp_pid"

rc=0
wait "$lg_pid" || rc=$?
cat "$work/loadgen.out" | grep -v '^progress'
sleep 12 # let the write-back catch up
metric() { curl -fsS "http://127.0.0.1:$TP_PORT/metrics" | awk -v m="$1" '$1 ~ "^"m"({|$)" {s+=$2} END {printf "%.0f", s}'; }
echo "peak_rss_bytes=$(( $(awk '/VmHWM/ {print $2}' "/proc/$tp_pid/status") * 1024 ))"
echo "max_memory_bytes=536870912"
echo "writeback_samples=$(metric train_prometheus_writeback_samples_total)"
echo "writeback_retried=$(metric train_prometheus_writeback_samples_retried_total)"
echo "writeback_dropped=$(metric train_prometheus_writeback_samples_dropped_total)"
echo "writeback_failed=$(metric train_prometheus_writeback_samples_failed_total)"
echo "config_reloads_ok=$(metric train_prometheus_config_last_reload_successful)"
echo "ring_series=$(metric train_prometheus_ring_series)"
# The forecast of one series, as Prometheus holds it: one sample every step
# (5s) from the first to the last, across the outage, or the gaps are counted.
q='loadgen_series_forecast{series="0",value_type="yhat"}['"$secs"'s]'
stamps=$(curl -fsS --get "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$q" | grep -oE '\[[0-9]+(\.[0-9]+)?,"' | tr -d '[,"')
read -r n gaps first last < <(echo "$stamps" | awk 'NR>1 && $1-prev > 5.001 {g++} {prev=$1; if (NR==1) f=$1} END {printf "%d %d %.0f %.0f\n", NR, g+0, f, prev}')
echo "forecast_samples_in_prometheus=$n from=$first to=$last gaps=$gaps (outage from t=$(( secs / 4 ))s to t=$(( secs / 2 ))s)"
[ "${gaps:-1}" -eq 0 ] && [ "$n" -gt 1 ] || rc=1
if [ "$rc" -ne 0 ]; then echo "soak: FAILED (loadgen exit $rc)"; exit "$rc"; fi
echo "soak: OK"
