package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// flagSelector selects the adapter's anomaly flags of the demo series
// (demo_injected_anomaly has no model label).
const flagSelector = `{__name__=~"demo_.+_anomaly", model!=""}`

// graphURL is a Prometheus graph page of exprs over the last rangeInput.
func graphURL(promURL, rangeInput string, exprs ...string) string {
	q := url.Values{}
	for i, e := range exprs {
		p := fmt.Sprintf("g%d.", i)
		q.Set(p+"expr", e)
		q.Set(p+"tab", "0")
		q.Set(p+"range_input", rangeInput)
	}
	return promURL + "/graph?" + q.Encode()
}

// actualExpr is the PromQL of what the adapter models for metric: the
// counter as its per-second rate.
func actualExpr(metric string) string {
	if metric == metricRequests {
		return fmt.Sprintf(`label_replace(rate(%s[5s]), "value_type", "actual", "", "")`, metric)
	}
	return fmt.Sprintf(`label_replace(%s, "value_type", "actual", "", "")`, metric)
}

// forecastName is the adapter's forecast series name for metric.
func forecastName(metric string) string {
	if metric == metricRequests {
		return metric + ":rate_forecast"
	}
	return metric + "_forecast"
}

// graphs lists what the demo prints: per series, actual vs forecast vs
// band; and the flags next to the injections.
func graphs(promURL string) [][2]string {
	var out [][2]string
	for _, m := range modelled {
		out = append(out, [2]string{m, graphURL(promURL, "1h",
			actualExpr(m)+" or "+forecastName(m)+`{model="auto"}`)})
	}
	out = append(out, [2]string{"anomaly flags and injections", graphURL(promURL, "30m",
		flagSelector, metricInjected)})
	return out
}

// result is what the headless run found in Prometheus at its end.
type result struct {
	// Forecasts counts the yhat series written back, by name.
	Forecasts map[string]int
	// Injected are the injections that started during the run; Flagged
	// those with a flag of their series at a step they overlap (or the
	// step after).
	Injected []window
	Flagged  []window
	// Flags counts the steps flagged in all, Unexplained those of them
	// that overlap no injection into their series (false alarms), by
	// input metric.
	Flags       int
	Unexplained map[string]int
	// UnexplainedAt names each of them and when, from the live start.
	UnexplainedAt []string
}

// check queries Prometheus for the forecasts and flags written back since
// live, and matches the flags with the injections.
func check(ctx context.Context, promURL string, s *synth, now time.Time) (result, error) {
	client, err := api.NewClient(api.Config{Address: promURL})
	if err != nil {
		return result{}, fmt.Errorf("build Prometheus client: %w", err)
	}
	papi := v1.NewAPI(client)
	res := result{Forecasts: map[string]int{}, Unexplained: map[string]int{}, Injected: s.windows(s.live, now)}

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	val, _, _, err := papi.Query(ctx, `count by (__name__) ({__name__=~"demo_.+_forecast", value_type="yhat"})`, now)
	if err != nil {
		return res, fmt.Errorf("query forecasts: %w", err)
	}
	for _, smp := range val.(model.Vector) {
		res.Forecasts[string(smp.Metric[model.MetricNameLabel])] = int(smp.Value)
	}

	// The flags' raw samples, stamped at the start of the step they score.
	span := now.Sub(s.live) + time.Minute
	val, _, _, err = papi.Query(ctx, fmt.Sprintf("%s[%s]", flagSelector, model.Duration(span.Round(time.Second))), now)
	if err != nil {
		return res, fmt.Errorf("query flags: %w", err)
	}
	flagged := map[string][]time.Time{} // input metric → flagged step starts
	for _, ser := range val.(model.Matrix) {
		name := string(ser.Metric[model.MetricNameLabel])
		for _, sp := range ser.Values {
			if sp.Value != 1 {
				continue
			}
			res.Flags++
			for _, m := range modelled {
				if strings.HasPrefix(name, m) {
					flagged[m] = append(flagged[m], sp.Timestamp.Time())
				}
			}
		}
	}
	// A step [ft, ft+step) overlapping the injection, or the one right
	// after it (a counter's rate lags a scrape), is its detection.
	near := func(w window, ft time.Time) bool { return ft.Add(step).After(w.Start) && ft.Before(w.End.Add(step)) }
	for _, w := range res.Injected {
		for _, ft := range flagged[w.Metric] {
			if near(w, ft) {
				res.Flagged = append(res.Flagged, w)
				break
			}
		}
	}
	for m, fts := range flagged {
		for _, ft := range fts {
			explained := false
			for _, w := range res.Injected {
				explained = explained || (w.Metric == m && near(w, ft))
			}
			if !explained {
				res.Unexplained[m]++
				res.UnexplainedAt = append(res.UnexplainedAt, fmt.Sprintf("%s at +%s", m, ft.Sub(s.live).Round(time.Second)))
			}
		}
	}
	return res, nil
}
