package ring

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

func TestSeriesType(t *testing.T) {
	st := NewStore(0, nil)
	opts := Options{Step: time.Minute, Window: time.Hour}
	get := func(name string) *Series {
		s, _, err := st.GetOrCreate(labels.FromStrings("__name__", name, "job", "a"), opts)
		require.NoError(t, err)
		return s
	}
	type want struct {
		typ MetricType
		src string
	}
	check := func(s *Series, w want) {
		t.Helper()
		typ, src := s.Type()
		require.Equal(t, w, want{typ, src})
	}

	reqs := get("http_requests_total")
	check(reqs, want{TypeCounter, "name"})
	plain := get("queue_length")
	check(plain, want{TypeUnknown, ""})
	check(get("rpc_duration_seconds_bucket"), want{TypeHistogram, "name"})
	check(get("process_start_created"), want{TypeGauge, "name"})

	// A 1.0 metadata request for the family (OpenMetrics names it without
	// _total) overrides the guess; the exact name is found first.
	require.True(t, st.SetFamilyType("queue_length", TypeGauge))
	require.False(t, st.SetFamilyType("queue_length", TypeGauge), "unchanged")
	check(plain, want{TypeGauge, "family"})
	require.True(t, st.SetFamilyType("http_requests", TypeUnknown))
	check(reqs, want{TypeUnknown, "family"})

	// Declared with the series (2.0) wins; unknown does not erase it.
	reqs.SetType(TypeCounter)
	check(reqs, want{TypeCounter, "series"})
	reqs.SetType(TypeUnknown)
	check(reqs, want{TypeCounter, "series"})
}

func TestCumulative(t *testing.T) {
	for _, c := range []struct {
		name string
		typ  MetricType
		want bool
	}{
		{"http_requests_total", TypeCounter, true},
		{"requests", TypeCounter, true},
		{"foo_created", TypeCounter, false},
		{"rpc_seconds_bucket", TypeHistogram, true},
		{"rpc_seconds_count", TypeSummary, true},
		{"rpc_seconds", TypeSummary, false}, // quantiles
		{"temperature", TypeGauge, false},
		{"x_total", TypeUnknown, false},
	} {
		require.Equal(t, c.want, Cumulative(c.name, c.typ), c.name)
	}
	for typ := range numTypes {
		require.Equal(t, typ, ParseMetricType(typ.String()))
	}
	require.Equal(t, TypeUnknown, ParseMetricType("bogus"))
	require.Equal(t, "http_requests", FamilyName("http_requests_total"))
	require.Equal(t, "_total", FamilyName("_total"))
}

func TestFamilyTypesBounded(t *testing.T) {
	st := NewStore(0, nil)
	for i := range maxFamilies + 10 {
		st.SetFamilyType("m"+string(rune('a'+i%26))+labels.FromStrings("i", string(rune(i))).String(), TypeGauge)
	}
	require.LessOrEqual(t, len(st.families.types), maxFamilies)
}
