package ring

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

var benchOpts = Options{Step: time.Minute, Window: 7 * 24 * time.Hour, Aggregate: AggMean}

const benchStart = int64(1_700_000_000_000)

func BenchmarkAppend(b *testing.B) {
	ser, _, err := NewStore(0, nil).GetOrCreate(labels.FromStrings("__name__", "up"), benchOpts)
	require.NoError(b, err)
	ts := benchStart
	b.ReportAllocs()
	for b.Loop() {
		ts += 15_000 // Four samples per step, as with a 15s scrape interval.
		if err := ser.Append(ts, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetOrCreateAppend(b *testing.B) {
	const n = 100_000
	// A short window keeps 100k buffers small; the lookup cost does not
	// depend on it.
	opts := Options{Step: time.Minute, Window: time.Hour, Aggregate: AggLast}
	st := NewStore(0, nil)
	lsets := make([]labels.Labels, n)
	for i := range lsets {
		lsets[i] = labels.FromStrings("__name__", "http_requests_total", "job", "api", "instance", "host-"+strconv.Itoa(i)+":9090")
		ser, _, err := st.GetOrCreate(lsets[i], opts)
		require.NoError(b, err)
		require.NoError(b, ser.Append(benchStart, 1))
	}
	i := 0
	ts := benchStart
	b.ReportAllocs()
	for b.Loop() {
		if i == 0 {
			ts += 15_000
		}
		ser, created, err := st.GetOrCreate(lsets[i], opts)
		if err != nil || created {
			b.Fatal("lookup of an existing series failed", err)
		}
		if err := ser.Append(ts, 1); err != nil {
			b.Fatal(err)
		}
		i = (i + 1) % n
	}
}

func BenchmarkValues(b *testing.B) {
	ser, _, err := NewStore(0, nil).GetOrCreate(labels.FromStrings("__name__", "up"), benchOpts)
	require.NoError(b, err)
	capacity := int64(benchOpts.Capacity())
	// Fill the ring one and a half times so the copy wraps.
	for k := range capacity * 3 / 2 {
		require.NoError(b, ser.Append(benchStart+k*60_000, float64(k)))
	}
	dst := make([]float64, 0, capacity)
	b.ReportAllocs()
	for b.Loop() {
		_, dst = ser.Values(math.MaxInt64, dst)
	}
	require.Len(b, dst, int(capacity))
}
