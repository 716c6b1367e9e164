// Package output holds the value types of what the adapter produces, which
// the engine hands to the layers that deliver it: a Sample to write back
// (adapter/writeback), a Forecast to serve ahead of now (the remote-read
// server). It sits below them all, as Prometheus keeps model/labels and the
// storage interfaces below scrape, rules and storage/remote, so that the
// engine emits to interfaces and never imports the layers that consume it.
package output

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/models"
)

// Sample is one output sample: a series, a timestamp in ms and a value.
type Sample struct {
	Labels labels.Labels
	T      int64
	V      float64
}

// Forecast is one fitted model of one series, for serving its forecast at
// any time: the labels of its three output series, the model, and the grid.
type Forecast struct {
	Labels [3]labels.Labels // yhat, yhat_lower, yhat_upper
	Fitted models.Fitted
	Step   int64 // ms
	// Written is the newest grid time whose forecast was written back, or
	// math.MinInt64; the server answers after it.
	Written int64
}
