// Package web serves the adapter's pages for people and scrapers: the
// series list and a series' page with its chart, the configuration and
// write-back page, and /forecasts, the latest outputs as gauges. The pages
// are server-rendered from the templates in ui/, with no scripts and no
// external assets.
//
// The package reads the adapter's parts through the narrow interfaces
// below and routes nothing: the composition root mounts the handlers.
//
//	ui := web.New(logger, web.Source{Engine: eng, Buffers: store, Targets: queues, Settings: a}, web.Options{Now: now})
//	mux.HandleFunc("GET /{$}", ui.Index)
//	mux.HandleFunc("GET /series", ui.Series)
//	mux.HandleFunc("GET /config", ui.Config)
//	mux.HandleFunc("GET /forecasts", ui.Forecasts)
package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/adapter/engine"
	"github.com/train-prometheus/train-prometheus/adapter/output"
	"github.com/train-prometheus/train-prometheus/adapter/writeback"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// Engine is what the pages read of the forecasting engine.
type Engine interface {
	// Status returns every tracked series, sorted by labels.
	Status() []engine.SeriesStatus
	// SeriesHistory returns the status of the series ref and its
	// buffered cells before end (ms).
	SeriesHistory(ref uint64, end int64) (st engine.SeriesStatus, start int64, vals []float64, ok bool)
	// Latest calls f with each sample of the latest evaluation.
	Latest(f func(output.Sample))
}

// Buffers is what the series list counts of the ring buffers.
type Buffers interface {
	Len() int
	Range(f func(*ring.Series) bool)
}

// Targets is what the config page shows of the write-back.
type Targets interface {
	Status() []writeback.TargetStatus
}

// Settings gives the configuration in force, nil before the first one (its
// tenancy section decides whose series a request sees), and how the last
// reload ended.
type Settings interface {
	Config() *config.Config
	LastReload() (Reload, bool)
}

// Reload is how a configuration reload ended.
type Reload struct {
	At  time.Time
	Err string // "" when it succeeded
}

// Source is what the pages read.
type Source struct {
	Engine   Engine
	Buffers  Buffers
	Targets  Targets
	Settings Settings
}

// Options are the pages' settings that do not change on reload.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Shard names this replica's share of the series in the pages'
	// header; "" when it owns all.
	Shard string
}

// UI serves the pages. Its methods are http.HandlerFuncs.
type UI struct {
	logger log.Logger
	src    Source
	opts   Options
}

// New returns the pages over src.
func New(logger log.Logger, src Source, opts Options) *UI {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &UI{logger: log.With(logger, "component", "web"), src: src, opts: opts}
}

// The templates are embedded in the binary.
//
//go:embed ui/*.html
var uiFS embed.FS

var uiTemplates = template.Must(template.New("ui").Funcs(template.FuncMap{
	"add": func(a, b float64) float64 { return a + b },
	"sub": func(a, b float64) float64 { return a - b },
}).ParseFS(uiFS, "ui/*.html"))

// page is what every status page shows in its header and footer.
type page struct {
	Title string
	Now   string
	Shard string
	// Tenant names whose series the page shows, with tenancy on.
	Tenant string
}

func (u *UI) page(title string, v viewer) page {
	return page{Title: title, Now: u.opts.Now().UTC().Format(time.RFC3339), Shard: u.opts.Shard, Tenant: v.describe()}
}

// render executes a template into a buffer first, so that a failure gives
// a clean 500 rather than half a page.
func (u *UI) render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := uiTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		level.Error(u.logger).Log("msg", "Rendering status page failed", "page", name, "err", err)
		http.Error(w, "render page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
