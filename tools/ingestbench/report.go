package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// stats collects one receiver's trials.
type stats struct {
	rates     []float64       // samples/s, one per trial in trial order
	latencies []time.Duration // every request of every trial
}

func (s *stats) add(r driveResult) {
	s.rates = append(s.rates, r.rate())
	s.latencies = append(s.latencies, r.latencies...)
}

// median returns the median of xs (the mean of the middle two for an even
// count), 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// report prints the table of receivers and the adapter's ratios to the
// others: the ratio of the medians, and the range of the per-trial ratios
// (trial k of one receiver against trial k of the other, which ran next to
// it in time).
func report(out io.Writer, names []string, results map[string]*stats, skipped map[string]string) {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "receiver\tsamples/s (median)\tmin-max\tp50 latency\tp99 latency\ttrials")
	for _, n := range names {
		st := results[n]
		if st == nil {
			fmt.Fprintf(tw, "%s\tskipped\n", n)
			continue
		}
		lat := slices.Sorted(slices.Values(st.latencies))
		fmt.Fprintf(tw, "%s\t%s\t%.2f-%.2fM/s\t%s\t%s\t%d\n", n, formatRate(median(st.rates)),
			slices.Min(st.rates)/1e6, slices.Max(st.rates)/1e6,
			formatLatency(percentile(lat, 0.5)), formatLatency(percentile(lat, 0.99)), len(st.rates))
	}
	tw.Flush()

	a := results[nameAdapter]
	for _, other := range []string{nameVM, namePrometheus} {
		o := results[other]
		if a == nil || o == nil {
			continue
		}
		var per []float64
		for k := range min(len(a.rates), len(o.rates)) {
			per = append(per, a.rates[k]/o.rates[k])
		}
		fmt.Fprintf(out, "adapter/%s: %.2f (medians), per trial %.2f-%.2f\n",
			other, median(a.rates)/median(o.rates), slices.Min(per), slices.Max(per))
	}
	for _, n := range names {
		if reason := skipped[n]; reason != "" {
			fmt.Fprintf(out, "%s skipped: %s\n", n, reason)
		}
	}
}

// formatRate prints samples/s in millions.
func formatRate(r float64) string { return fmt.Sprintf("%.2fM/s", r/1e6) }

// formatLatency prints d in milliseconds.
func formatLatency(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}
