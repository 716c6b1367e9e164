package engine

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	fits             *prometheus.CounterVec
	fitDuration      *prometheus.HistogramVec
	retrainLateness  prometheus.Gauge
	retrainPass      prometheus.Histogram
	evaluations      prometheus.Counter
	evalDuration     prometheus.Histogram
	samplesOut       *prometheus.CounterVec
	anomalies        *prometheus.CounterVec
	series           prometheus.Gauge
	fitted           prometheus.Gauge
	stale            prometheus.Counter
	outputCollisions *prometheus.CounterVec
	nonfinite        *prometheus.CounterVec
	cellsMissed      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	const ns, sub = "train_prometheus", "engine"
	return &metrics{
		fits: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "fits_total",
			Help: "Model fits by model and result (success, insufficient_data, non_finite, error).",
		}, []string{"model", "result"}),
		fitDuration: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "fit_duration_seconds",
			Help:    "Time to fit one model to one series.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"model"}),
		retrainLateness: f.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "retrain_lateness_seconds",
			Help: "How late the most overdue refit of the last retrain pass that refitted anything started, relative to its schedule (due fits are looked for every second, so up to 1s is normal).",
		}),
		retrainPass: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "retrain_pass_duration_seconds",
			Help:    "Duration of one retrain pass over the series that were due.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}),
		evaluations: f.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "evaluations_total",
			Help: "Grid ticks at which forecasts and anomaly values were computed.",
		}),
		evalDuration: f.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "evaluation_duration_seconds",
			Help:    "Duration of one evaluation over all series.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}),
		samplesOut: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "output_samples_total",
			Help: "Samples produced for write-back, by kind (forecast, anomaly_score, anomaly, stale).",
		}, []string{"kind"}),
		anomalies: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "anomalies_total",
			Help: "Grid cells flagged as anomalous, over all series and models, by the rule that fired (magnitude, persistence, shift).",
		}, []string{"rule"}),
		series: f.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "series",
			Help: "Series the engine tracks.",
		}),
		fitted: f.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "fitted_series",
			Help: "Series with at least one fitted model.",
		}),
		stale: f.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "stale_series_total",
			Help: "Series whose output series were ended with stale markers because their input went away.",
		}),
		nonfinite: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "nonfinite_outputs_total",
			Help: "Forecasts (a value with its band) and anomaly scores withheld because a value was NaN or infinite, " +
				"by forecasts entry and model: never written back, shown on /forecasts or answered to remote read.",
		}, []string{"forecast", "model"}),
		outputCollisions: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "output_collisions_total",
			Help: "Input series that found their output series already written by another input series " +
				"(output.preset ancestor without name_label), by forecasts entry: they write nothing.",
		}, []string{"forecast"}),
		cellsMissed: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "cells_missed_total",
			Help: "Grid cells of fitted series that held no data when evaluated (evaluation_delay after they closed) and got samples later, " +
				"within " + strconv.Itoa(missedCells) + " steps: never scored. Raise evaluation_delay if senders lag.",
		}, []string{"forecast"}),
	}
}
