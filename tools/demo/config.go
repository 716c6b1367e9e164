package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// jobName is the scrape job of the demo target.
const jobName = "demo"

// Timing of the demo, in real time.
const (
	scrapeInterval = time.Second
	// step is the adapter's grid: a 10-minute demo day is 120 steps.
	step = 5 * time.Second
)

// prometheusConfig scrapes the demo target every second and remote-writes
// the modelled series to the adapter (flushing every second, so that a
// step's samples arrive well within the adapter's evaluation_delay).
func prometheusConfig(target, adapter string) string {
	return fmt.Sprintf(`# train-prometheus demo: scrape the demo target, send its series to the adapter.
global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: 15s
scrape_configs:
  - job_name: %[2]s
    static_configs:
      - targets: [%[3]q]
remote_write:
  - url: http://%[4]s/api/v1/write
    queue_config: {retry_on_http_429: true, batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 2s}
    write_relabel_configs:
      - source_labels: [__name__]
        regex: %[5]s
        action: keep
`, model.Duration(scrapeInterval), jobName, target, adapter, strings.Join(modelled, "|"))
}

// adapterConfig is the adapter's configuration for the demo: the grid and
// seasonal period of the compressed day, history read back from Prometheus
// at start (remote_read backfill), forecasts and flags written back to it.
// The anomaly warm-up is four steps, so that flags can come within the
// first minute; the default (one seasonal period) would take a demo day.
func adapterConfig(promURL string, day, window time.Duration) string {
	return fmt.Sprintf(`# train-prometheus demo: a demo day is %[1]s of real time, on a %[2]s grid.
global:
  step: %[2]s
  window: %[3]s
  retrain_interval: 2m
  min_history: 30m
  evaluation_delay: 3s
  staleness: 1m
  anomaly_warm_up: 20s

forecasts:
  - name: demo
    match: ['{__name__=~%[4]q, job=%[5]q}']
    models: [auto]
    seasonal_period: %[1]s
    clip_min: 0

remote_write:
  - url: %[6]s/api/v1/write
    name: prometheus
    queue_config: {batch_send_deadline: 1s, max_backoff: 2s}

remote_read:
  - url: %[6]s/api/v1/read
    name: prometheus
    read_recent: true

storage:
  snapshot_interval: 0s
`, model.Duration(day), model.Duration(step), model.Duration(window), strings.Join(modelled, "|"), jobName, promURL)
}
