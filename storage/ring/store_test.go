package ring

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

var testOpts = Options{Step: time.Second, Window: 5 * time.Second}

func seriesLabels(i int) labels.Labels {
	return labels.FromStrings("__name__", "m", "i", fmt.Sprint(i))
}

func TestGetOrCreate(t *testing.T) {
	st := NewStore(0, nil)
	lset := labels.FromStrings("__name__", "up", "job", "a")

	require.Nil(t, st.Get(lset))
	ser, created, err := st.GetOrCreate(lset, Options{Step: time.Minute, Window: time.Hour, Aggregate: AggMax, Group: 2})
	require.NoError(t, err)
	require.True(t, created)
	require.True(t, labels.Equal(lset, ser.Labels()))
	require.Equal(t, Options{Step: time.Minute, Window: time.Hour, Aggregate: AggMax, Group: 2}, ser.Options())
	require.Same(t, ser, st.Get(lset))

	again, created, err := st.GetOrCreate(lset, Options{Step: time.Second, Window: time.Second})
	require.NoError(t, err)
	require.False(t, created)
	require.Same(t, ser, again)
	require.Equal(t, time.Minute, again.Options().Step, "options of an existing series are kept")

	other, created, err := st.GetOrCreate(labels.FromStrings("__name__", "up", "job", "b"), testOpts)
	require.NoError(t, err)
	require.True(t, created)
	require.NotEqual(t, ser.Ref(), other.Ref())
	require.Equal(t, 2, st.Len())
}

func TestGetOrCreateInvalidOptions(t *testing.T) {
	st := NewStore(0, nil)
	_, _, err := st.GetOrCreate(labels.FromStrings("a", "b"), Options{Step: time.Second})
	require.ErrorIs(t, err, ErrInvalidOptions)
	require.Zero(t, st.Len())
	require.Nil(t, st.Get(labels.FromStrings("a", "b")))
}

func TestHashCollisions(t *testing.T) {
	st := NewStore(0, nil)
	const hash = 42
	var all []*Series
	for i := range 4 {
		ser, created, err := st.getOrCreate(hash, seriesLabels(i), testOpts)
		require.NoError(t, err)
		require.True(t, created)
		all = append(all, ser)
	}
	for i, want := range all {
		got, created, err := st.getOrCreate(hash, seriesLabels(i), testOpts)
		require.NoError(t, err)
		require.False(t, created)
		require.Same(t, want, got)
	}

	for _, tc := range []struct {
		name   string
		delete int
	}{
		{name: "a conflict", delete: 2},
		{name: "the unique entry, promoting a conflict", delete: 0},
		{name: "the last conflict", delete: 3},
		{name: "the last one", delete: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.True(t, st.Delete(all[tc.delete]))
			require.False(t, st.Delete(all[tc.delete]))
			var left int
			st.Range(func(*Series) bool { left++; return true })
			require.Equal(t, st.Len(), left)
			for i := range all {
				got, created, err := st.getOrCreate(hash, seriesLabels(i), testOpts)
				require.NoError(t, err)
				if created {
					require.True(t, st.Delete(got))
					continue
				}
				require.Same(t, all[i], got)
			}
		})
	}
	require.Zero(t, st.Len())
	sh := st.shardFor(hash)
	require.Empty(t, sh.unique)
	require.Empty(t, sh.conflicts)
}

func TestMaxSeries(t *testing.T) {
	st := NewStore(2, nil)
	a, _, err := st.GetOrCreate(seriesLabels(0), testOpts)
	require.NoError(t, err)
	_, _, err = st.GetOrCreate(seriesLabels(1), testOpts)
	require.NoError(t, err)

	now := int64(0)
	for _, tc := range []struct {
		name    string
		limit   int
		lset    labels.Labels
		wantErr error
	}{
		{name: "full refuses new", limit: 2, lset: seriesLabels(2), wantErr: ErrTooManySeries},
		{name: "full still finds existing", limit: 2, lset: seriesLabels(0)},
		{name: "lowered limit keeps existing", limit: 1, lset: seriesLabels(1)},
		{name: "lowered limit refuses new", limit: 1, lset: seriesLabels(2), wantErr: ErrTooManySeries},
		{name: "raised limit accepts new", limit: 3, lset: seriesLabels(2)},
		{name: "raised limit full again", limit: 3, lset: seriesLabels(3), wantErr: ErrTooManySeries},
		{name: "no limit", limit: 0, lset: seriesLabels(3)},
	} {
		now += sec
		t.Run(tc.name, func(t *testing.T) {
			st.SetMaxSeries(tc.limit)
			ser, _, err := st.GetOrCreate(tc.lset, testOpts)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.Nil(t, ser)
				require.Nil(t, st.Get(tc.lset))
				return
			}
			require.NoError(t, err)
			require.NoError(t, a.Append(now, 1), "existing series keep working")
		})
	}
	require.Equal(t, 4, st.Len())

	st.SetMaxSeries(4)
	require.True(t, st.Delete(a))
	_, created, err := st.GetOrCreate(seriesLabels(9), testOpts)
	require.NoError(t, err)
	require.True(t, created, "a deleted series frees its place")
}

func TestDelete(t *testing.T) {
	st := NewStore(0, nil)
	ser, _, err := st.GetOrCreate(seriesLabels(0), testOpts)
	require.NoError(t, err)
	require.NoError(t, ser.Append(10*sec, 1))
	require.Equal(t, int64(5*8), st.BufferBytes())

	foreign, _, err := NewStore(0, nil).GetOrCreate(seriesLabels(0), testOpts)
	require.NoError(t, err)
	require.False(t, st.Delete(foreign), "a series of another store")
	require.False(t, st.Delete(nil))

	require.True(t, st.Delete(ser))
	require.False(t, st.Delete(ser), "already deleted")
	require.Zero(t, st.Len())
	require.Zero(t, st.BufferBytes())
	require.Nil(t, st.Get(seriesLabels(0)))

	require.ErrorIs(t, ser.Append(11*sec, 2), ErrSeriesRemoved)
	ser.Reset(Options{Step: 2 * time.Second, Window: 10 * time.Second})
	require.Zero(t, st.BufferBytes(), "a removed series is not accounted")

	again, created, err := st.GetOrCreate(seriesLabels(0), testOpts)
	require.NoError(t, err)
	require.True(t, created)
	require.Greater(t, again.Ref(), ser.Ref(), "refs are never reused")
}

func TestDeleteKeepsDataForReaders(t *testing.T) {
	st := NewStore(0, nil)
	ser := newTestSeries(t, st, AggLast)
	require.NoError(t, ser.Append(10*sec, 1))
	require.True(t, st.Delete(ser))
	start, vals := ser.Values(math.MaxInt64, nil)
	require.Equal(t, 10*sec, start)
	requireFloats(t, []float64{1}, vals)
}

func TestGC(t *testing.T) {
	// Newest sample per series; MinInt64 means none.
	lasts := []int64{1 * sec, 5 * sec, math.MinInt64, 9 * sec}
	for _, tc := range []struct {
		name    string
		before  int64
		wantGot []int // Indexes of lasts that survive.
	}{
		{name: "nothing old", before: math.MinInt64, wantGot: []int{0, 1, 2, 3}},
		{name: "only empty", before: 1 * sec, wantGot: []int{0, 1, 3}},
		{name: "strictly older", before: 5 * sec, wantGot: []int{1, 3}},
		{name: "all but newest", before: 9 * sec, wantGot: []int{3}},
		{name: "all", before: 10 * sec, wantGot: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			st := NewStore(0, reg)
			var all []*Series
			for i, last := range lasts {
				ser, _, err := st.GetOrCreate(seriesLabels(i), testOpts)
				require.NoError(t, err)
				if last != math.MinInt64 {
					require.NoError(t, ser.Append(last, 1))
				}
				all = append(all, ser)
			}

			removed := st.GC(tc.before)
			require.Equal(t, len(lasts)-len(tc.wantGot), removed)
			require.Equal(t, len(tc.wantGot), st.Len())
			require.Equal(t, float64(removed), testutil.ToFloat64(st.removed))

			var wantBytes int64
			for i, ser := range all {
				kept := false
				for _, j := range tc.wantGot {
					kept = kept || i == j
				}
				if kept {
					require.Same(t, ser, st.Get(seriesLabels(i)))
					if lasts[i] != math.MinInt64 {
						wantBytes += 5 * 8
					}
					continue
				}
				require.Nil(t, st.Get(seriesLabels(i)))
				require.ErrorIs(t, ser.Append(20*sec, 1), ErrSeriesRemoved)
			}
			require.Equal(t, wantBytes, st.BufferBytes())
		})
	}
}

func TestRange(t *testing.T) {
	st := NewStore(0, nil)
	const n = 1000
	for i := range n {
		_, _, err := st.GetOrCreate(seriesLabels(i), testOpts)
		require.NoError(t, err)
	}

	seen := map[uint64]int{}
	st.Range(func(s *Series) bool { seen[s.Ref()]++; return true })
	require.Len(t, seen, n)
	for ref, c := range seen {
		require.Equal(t, 1, c, "series %d visited once", ref)
	}

	visits := 0
	st.Range(func(*Series) bool { visits++; return visits < 10 })
	require.Equal(t, 10, visits, "Range stops when f returns false")

	// f may change the store: no store lock is held while it runs.
	st.Range(func(s *Series) bool { return st.Delete(s) })
	require.Zero(t, st.Len())
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	st := NewStore(0, reg)
	for i := range 3 {
		ser, _, err := st.GetOrCreate(seriesLabels(i), testOpts)
		require.NoError(t, err)
		require.NoError(t, ser.Append(10*sec, 1))
	}
	require.True(t, st.Delete(st.Get(seriesLabels(0))))

	require.Equal(t, 3.0, testutil.ToFloat64(st.created))
	require.Equal(t, 1.0, testutil.ToFloat64(st.removed))
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP train_prometheus_ring_buffer_bytes Bytes of sample value buffers held by the ring buffers.
# TYPE train_prometheus_ring_buffer_bytes gauge
train_prometheus_ring_buffer_bytes 80
# HELP train_prometheus_ring_series Number of series held in ring buffers.
# TYPE train_prometheus_ring_series gauge
train_prometheus_ring_series 2
`), "train_prometheus_ring_series", "train_prometheus_ring_buffer_bytes"))

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	require.Equal(t, 5, n)
}

func TestStoreChanges(t *testing.T) {
	st := NewStore(10, nil)
	c0 := st.Changes()
	a, created, err := st.GetOrCreate(labels.FromStrings("__name__", "a"), Options{Step: time.Second, Window: time.Minute})
	require.NoError(t, err)
	require.True(t, created)
	c1 := st.Changes()
	require.NotEqual(t, c0, c1, "creation changes the count")
	_, created, err = st.GetOrCreate(labels.FromStrings("__name__", "a"), Options{Step: time.Second, Window: time.Minute})
	require.NoError(t, err)
	require.False(t, created)
	require.NoError(t, a.Append(1000, 1))
	require.Equal(t, c1, st.Changes(), "lookups and appends do not")
	require.True(t, st.Delete(a))
	require.NotEqual(t, c1, st.Changes(), "removal changes the count")
}

func TestEvictIdle(t *testing.T) {
	st := NewStore(0, nil)
	opts := Options{Step: time.Second, Window: time.Minute}
	var all []*Series
	for i := range 6 {
		s, _, err := st.GetOrCreate(labels.FromStrings("__name__", "m", "i", strconv.Itoa(i)), opts)
		require.NoError(t, err)
		require.NoError(t, s.Append(int64(1000*(10-i)), 1)) // series 5 is the least recently written
		all = append(all, s)
	}
	before := st.BufferBytes()

	// Idle: newest sample before 8s, i.e. series 3, 4 and 5; two are evicted,
	// the oldest first.
	evicted := st.EvictIdle(2, 8000)
	require.Equal(t, []*Series{all[5], all[4]}, evicted)
	require.Equal(t, before-2*60*8, st.BufferBytes())
	require.Equal(t, 4, st.Len())
	require.Nil(t, st.Get(all[5].Labels()))
	require.Nil(t, st.Get(all[4].Labels()))
	require.NotNil(t, st.Get(all[3].Labels()))
	require.ErrorIs(t, all[5].Append(20_000, 1), ErrSeriesRemoved)

	// Nothing else is idle enough.
	require.Empty(t, st.EvictIdle(10, 7000))
}
