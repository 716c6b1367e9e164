package shard

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	"github.com/stretchr/testify/require"
)

// randomSeries returns n label sets with a varying number of labels, some
// of which a shard rule names and some it does not.
func randomSeries(n int) []labels.Labels {
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]labels.Labels, n)
	for i := range out {
		m := map[string]string{
			"__name__": fmt.Sprintf("metric_%d", r.IntN(20)),
			"job":      fmt.Sprintf("job%d", r.IntN(5)),
		}
		if r.IntN(2) == 0 {
			m["instance"] = fmt.Sprintf("10.0.0.%d:9100", r.IntN(250))
		}
		if r.IntN(3) == 0 {
			m["cpu"] = strconv.Itoa(r.IntN(64))
		}
		out[i] = labels.FromMap(m)
	}
	return out
}

// process applies one relabel rule with Prometheus' own code.
func process(t *testing.T, lset labels.Labels, rule *relabel.Config) labels.Labels {
	t.Helper()
	lb := labels.NewBuilder(lset)
	require.True(t, relabel.ProcessBuilder(lb, rule))
	return lb.Labels()
}

// TestHashMatchesPrometheusHashmod runs Prometheus' own relabeling with a
// hashmod rule and checks that every series lands in the shard Owns says.
func TestHashMatchesPrometheusHashmod(t *testing.T) {
	for _, tc := range []struct {
		name string
		by   []string
	}{
		{"job and instance", []string{"job", "instance"}},
		{"name only", []string{"__name__"}},
		{"label often missing", []string{"cpu", "__name__"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, total := range []uint64{2, 3, 7} {
				var src model.LabelNames
				for _, l := range tc.by {
					src = append(src, model.LabelName(l))
				}
				rule := &relabel.Config{
					SourceLabels: src, Separator: ";", Modulus: total,
					TargetLabel: "__tmp_shard", Action: relabel.HashMod,
					Regex: relabel.MustNewRegexp("(.*)"), Replacement: "$1",
					NameValidationScheme: model.UTF8Validation,
				}
				require.NoError(t, rule.Validate(model.UTF8Validation))
				counts := make([]int, total)
				for _, lset := range randomSeries(500) {
					out := process(t, lset, rule)
					want, err := strconv.ParseUint(out.Get("__tmp_shard"), 10, 64)
					require.NoError(t, err)
					counts[want]++
					for i := range total {
						s := Shard{Index: i, Total: total, By: tc.by}
						require.Equal(t, i == want, s.Owns(lset), "series %s, shard %d of %d", lset, i, total)
					}
				}
				t.Logf("%d shards: %v series each", total, counts)
			}
		})
	}
}

// TestAllLabels checks the default key (all label values in name order)
// against hashmod over the series' own label names, and that every series
// has exactly one owner.
func TestAllLabels(t *testing.T) {
	const total = 4
	counts := make([]int, total)
	for _, lset := range randomSeries(400) {
		var src model.LabelNames
		lset.Range(func(l labels.Label) { src = append(src, model.LabelName(l.Name)) })
		rule := &relabel.Config{
			SourceLabels: src, Separator: ";", Modulus: total, TargetLabel: "s",
			Action: relabel.HashMod, Regex: relabel.MustNewRegexp("(.*)"), Replacement: "$1",
			NameValidationScheme: model.UTF8Validation,
		}
		out := process(t, lset, rule)
		owners := 0
		for i := range uint64(total) {
			if (Shard{Index: i, Total: total}).Owns(lset) {
				owners++
				require.Equal(t, strconv.FormatUint(i, 10), out.Get("s"))
				counts[i]++
			}
		}
		require.Equal(t, 1, owners, "series %s", lset)
	}
	for i, c := range counts {
		require.Greater(t, c, 50, "shard %d owns too few of 400 series: %v", i, counts)
	}
}

func TestNew(t *testing.T) {
	for _, tc := range []struct {
		name     string
		index    int
		total    int
		by       []string
		hostname string
		want     Shard
		err      string
	}{
		{name: "single", index: -1, total: 1, hostname: "x", want: Shard{Index: 0, Total: 1}},
		{name: "explicit", index: 2, total: 3, want: Shard{Index: 2, Total: 3}},
		{name: "from ordinal", index: -1, total: 3, hostname: "train-prometheus-1", want: Shard{Index: 1, Total: 3}},
		{name: "labels", index: 0, total: 2, by: []string{"job"}, want: Shard{Total: 2, By: []string{"job"}}},
		{name: "ordinal out of range", index: -1, total: 3, hostname: "tp-3", err: "shard index 3 out of range for 3 shards"},
		{name: "no ordinal", index: -1, total: 2, hostname: "laptop", err: `hostname "laptop" does not end in -N`},
		{name: "not a number", index: -1, total: 2, hostname: "tp-x1", err: "does not end in -N"},
		{name: "trailing dash", index: -1, total: 2, hostname: "tp-", err: "does not end in -N"},
		{name: "zero total", index: 0, total: 0, err: "shard total must be at least 1"},
		{name: "bad label", index: 0, total: 2, by: []string{""}, err: `shard label "" is not a valid label name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.index, tc.total, tc.by, tc.hostname)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, s)
		})
	}
}

func TestParseLabels(t *testing.T) {
	got, err := ParseLabels(" job, instance ")
	require.NoError(t, err)
	require.Equal(t, []string{"job", "instance"}, got)
	got, err = ParseLabels("")
	require.NoError(t, err)
	require.Nil(t, got)
	_, err = ParseLabels("job,,instance")
	require.Error(t, err)
}

func BenchmarkOwns(b *testing.B) {
	lset := labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", "3", "instance", "10.0.0.1:9100", "job", "node", "mode", "idle")
	s := Shard{Index: 1, Total: 3}
	b.ReportAllocs()
	for b.Loop() {
		s.Owns(lset)
	}
}

func BenchmarkOwnsBy(b *testing.B) {
	lset := labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", "3", "instance", "10.0.0.1:9100", "job", "node", "mode", "idle")
	s := Shard{Index: 1, Total: 3, By: []string{"job", "instance"}}
	b.ReportAllocs()
	for b.Loop() {
		s.Owns(lset)
	}
}
