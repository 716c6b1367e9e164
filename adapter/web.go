package adapter

import (
	"fmt"
	"net/http"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/train-prometheus/train-prometheus/adapter/engine"
	"github.com/train-prometheus/train-prometheus/adapter/web"
	"github.com/train-prometheus/train-prometheus/adapter/writeback"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// The parts the pages read, checked here where they are put together.
var (
	_ web.Engine   = (*engine.Engine)(nil)
	_ web.Buffers  = (*ring.Store)(nil)
	_ web.Targets  = (*writeback.Manager)(nil)
	_ web.Settings = (*Adapter)(nil)
)

// newUI builds the status pages and /forecasts over a's parts.
func newUI(logger log.Logger, a *Adapter) *web.UI {
	opts := web.Options{Now: a.opts.Now}
	if a.opts.Shard.Enabled() {
		opts.Shard = a.opts.Shard.String()
	}
	return web.New(logger, web.Source{Engine: a.engine, Buffers: a.store, Targets: a.queues, Settings: a}, opts)
}

// Handler returns the adapter's HTTP routes. gatherer serves /metrics.
func (a *Adapter) Handler(gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/write", a.receive)
	mux.Handle("/api/v1/read", a.read)
	mux.HandleFunc("GET /forecasts", a.ui.Forecasts)
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "train-prometheus is Healthy.")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if !a.ready.Load() {
			http.Error(w, "train-prometheus is not ready: no configuration applied yet.", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "train-prometheus is Ready.")
	})
	mux.Handle("/-/reload", a.lifecycle(func(w http.ResponseWriter, _ *http.Request) {
		if err := a.Reload(); err != nil {
			http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Configuration reloaded.")
	}))
	mux.HandleFunc("GET /{$}", a.ui.Index)
	mux.HandleFunc("GET /series", a.ui.Series)
	mux.HandleFunc("GET /config", a.ui.Config)
	return mux
}

// lifecycle guards a lifecycle endpoint (POST or PUT) as Prometheus does:
// other methods get 405, and with Options.EnableLifecycle off every POST
// or PUT gets 403 "Lifecycle API is not enabled.". Browsers' cross-origin
// requests are refused with 403 (http.CrossOriginProtection: the
// Sec-Fetch-Site header, else Origin against Host), so that a web page a
// user opens cannot trigger a reload; curl and other non-browser clients
// send neither header and pass.
func (a *Adapter) lifecycle(h http.HandlerFunc) http.Handler {
	guarded := http.NewCrossOriginProtection().Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost && r.Method != http.MethodPut {
			w.Header().Set("Allow", "POST, PUT")
			http.Error(w, "Only POST or PUT requests allowed", http.StatusMethodNotAllowed)
			return
		}
		if !a.opts.EnableLifecycle {
			http.Error(w, "Lifecycle API is not enabled.", http.StatusForbidden)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}
