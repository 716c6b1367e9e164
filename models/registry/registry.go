// Package registry is the one table of the models a forecasts entry can
// name: the configuration checks names against it, and the engine and the
// offline tools build models from it.
package registry

import (
	"fmt"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/auto"
	"github.com/train-prometheus/train-prometheus/models/fourier"
	"github.com/train-prometheus/train-prometheus/models/holtwinters"
	"github.com/train-prometheus/train-prometheus/models/naive"
	"github.com/train-prometheus/train-prometheus/models/prophet"
)

// autoCandidates are the models auto chooses among, per series; their
// order breaks ties.
var autoCandidates = [...]string{"fourier", "seasonal_naive", "seasonal_naive_drift", "prophet"}

// entry is one row of the table.
type entry struct {
	name string
	new  func(opts models.Options) (models.Model, error)
}

// table returns the registered models, auto first: the offline tools use
// the first one as their default.
func table() []entry {
	return []entry{
		{auto.Name, func(opts models.Options) (models.Model, error) {
			candidates := make([]models.Model, 0, len(autoCandidates))
			for _, c := range autoCandidates {
				m, err := New(c, opts)
				if err != nil {
					return nil, err
				}
				candidates = append(candidates, m)
			}
			return auto.New(opts, candidates...), nil
		}},
		{"fourier", func(opts models.Options) (models.Model, error) { return fourier.New(opts, 0), nil }},
		{"seasonal_naive", func(opts models.Options) (models.Model, error) { return naive.New(opts), nil }},
		{"seasonal_naive_drift", func(opts models.Options) (models.Model, error) { return naive.NewDrift(opts), nil }},
		{"prophet", func(opts models.Options) (models.Model, error) { return prophet.New(opts, prophet.Options{}), nil }},
		{"prophet_multiplicative", func(opts models.Options) (models.Model, error) {
			return prophet.New(opts, prophet.Options{Mode: prophet.Multiplicative}), nil
		}},
		{"holtwinters", func(opts models.Options) (models.Model, error) { return holtwinters.New(opts), nil }},
	}
}

// Names returns the names of the registered models, auto first.
func Names() []string {
	t := table()
	names := make([]string, len(t))
	for i, e := range t {
		names[i] = e.name
	}
	return names
}

// Known reports whether name is a registered model.
func Known(name string) bool {
	for _, e := range table() {
		if e.name == name {
			return true
		}
	}
	return false
}

// New builds the model called name.
func New(name string, opts models.Options) (models.Model, error) {
	for _, e := range table() {
		if e.name == name {
			return e.new(opts)
		}
	}
	return nil, fmt.Errorf("unknown model %q (known: %v)", name, Names())
}
