package receive

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// blockingBody is a request body whose Read blocks until release is closed.
type blockingBody struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
	r       io.Reader
}

func (b *blockingBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.started) })
	<-b.release
	return b.r.Read(p)
}

// blockingRouter selects every series, blocking in Route until release is
// closed; started is closed on the first call.
type blockingRouter struct {
	started, release chan struct{}
	once             *sync.Once
}

func (b blockingRouter) Route(labels.Labels) (ring.Options, bool) {
	b.once.Do(func() { close(b.started) })
	<-b.release
	return testOpts, true
}

func TestHandlerInflightLimit(t *testing.T) {
	st := ring.NewStore(0, nil)
	h := NewHandler(nil, prometheus.NewRegistry(), st, nameRouter{}, 0)
	blk := blockingRouter{started: make(chan struct{}), release: make(chan struct{}), once: new(sync.Once)}
	h.Configure(blk, Limits{MaxInflightRequests: 1})
	body := encode(t, writeReq(series(lbls("__name__", "sel_a"), samples(0, 3, 1)...)))

	// One request holds the only slot while it is stored.
	done := make(chan int)
	go func() { done <- serve(h, newPost(body)).Code }()
	<-blk.started

	w := serve(h, newPost(encode(t, writeReq(series(lbls("__name__", "sel_b"), samples(0, 1, 1)...)))))
	require.Equal(t, http.StatusTooManyRequests, w.Code, w.Body.String())
	require.Equal(t, "1", w.Header().Get("Retry-After"))
	require.Contains(t, w.Body.String(), "limits.max_inflight_requests")
	require.Equal(t, 1.0, testutil.ToFloat64(h.requests.WithLabelValues("429")))

	close(blk.release)
	require.Equal(t, http.StatusNoContent, <-done)
	// The slot is free again.
	require.Equal(t, http.StatusNoContent, serve(h, newPost(encode(t, writeReq(series(lbls("__name__", "sel_b"), samples(0, 1, 1)...))))).Code)
}

// TestHandlerSlowBodiesHoldNoSlot: senders that stall while sending their
// bodies do not take the decode slots, so a healthy writer is served at
// once (they used to hold every slot and make every writer get 429).
func TestHandlerSlowBodiesHoldNoSlot(t *testing.T) {
	st := ring.NewStore(0, nil)
	h := NewHandler(nil, prometheus.NewRegistry(), st, nameRouter{}, 0)
	h.Configure(nameRouter{}, Limits{MaxInflightRequests: 2})
	body := encode(t, writeReq(series(lbls("__name__", "sel_a"), samples(0, 3, 1)...)))

	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 5 {
		blk := &blockingBody{started: make(chan struct{}), release: release, r: strings.NewReader(string(body))}
		r := newPost(nil)
		r.Body = io.NopCloser(blk)
		r.ContentLength = -1
		wg.Add(1)
		go func() {
			defer wg.Done()
			serve(h, r)
		}()
		<-blk.started
	}

	w := serve(h, newPost(encode(t, writeReq(series(lbls("__name__", "sel_b"), samples(0, 1, 1)...)))))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	close(release)
	wg.Wait()
}

func TestHandlerMemoryCeiling(t *testing.T) {
	const limit = 100_000 // a series of testOpts costs about 2.6 kB
	for _, tc := range []struct {
		name     string
		live     uint64
		wantCode int
		wantNew  bool // the new series is admitted
		wantOld  bool // the known series gets its sample
	}{
		{"under", 60_000, http.StatusNoContent, true, true},
		{"no new series", 75_000, http.StatusTooManyRequests, false, true},
		{"refuse requests", 90_000, http.StatusTooManyRequests, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := ring.NewStore(0, nil)
			h := NewHandler(nil, prometheus.NewRegistry(), st, nameRouter{}, 0)
			h.Configure(nameRouter{}, Limits{MaxMemoryBytes: limit, EvictIdleAfter: -1})
			live := uint64(0)
			h.mem.read = func() uint64 { return live }
			h.mem.cycles = func() uint64 { return 0 }
			known := series(lbls("__name__", "sel_known"), samples(0, 1, 1)...)
			require.Equal(t, http.StatusNoContent, serve(h, newPost(encode(t, writeReq(known)))).Code)

			live = tc.live
			h.mem.last.Store(0) // read anew
			h.mem.pending.Store(0)
			body := encode(t, writeReq(
				series(lbls("__name__", "sel_known"), samples(15_000, 1, 2)...),
				series(lbls("__name__", "sel_new"), samples(0, 2, 1)...),
			))
			w := serve(h, newPost(body))
			require.Equal(t, tc.wantCode, w.Code, w.Body.String())
			if tc.wantCode == http.StatusTooManyRequests {
				require.Equal(t, "1", w.Header().Get("Retry-After"))
				require.Contains(t, w.Body.String(), "limits.max_memory_bytes")
			}
			require.Equal(t, tc.wantNew, st.Get(labels.FromStrings("__name__", "sel_new")) != nil)
			got := storedValues(t, st, "__name__", "sel_known")
			require.Equal(t, tc.wantOld, len(got) == 2, "%v", got)
			if tc.name == "no new series" {
				require.Equal(t, 2.0, testutil.ToFloat64(h.dropped[reasonMemory]))
				require.Contains(t, w.Body.String(), "kept the known ones (1 samples accepted)")
			}
		})
	}
}

// TestHandlerMemoryAdmissionPerSeries: one request of many new series
// cannot take the process past the admission share of the ceiling between
// two measurements of the heap (the probe's 25,000 new series in one
// request took 64 MiB of ceiling to 96 MB). Each new series is admitted
// against its estimated cost; the rest are refused with a 429, and the
// known series keep being served.
func TestHandlerMemoryAdmissionPerSeries(t *testing.T) {
	const limit = 100_000
	st := ring.NewStore(0, nil)
	h := NewHandler(nil, prometheus.NewRegistry(), st, nameRouter{}, 0)
	h.Configure(nameRouter{}, Limits{MaxMemoryBytes: limit, EvictIdleAfter: -1})
	h.mem.read = func() uint64 { return 0 } // the heap is never measured again
	h.mem.cycles = func() uint64 { return 0 }

	var many []prompb.TimeSeries
	for i := range 100 {
		many = append(many, series(lbls("__name__", fmt.Sprintf("sel_%03d", i)), samples(0, 1, 1)...))
	}
	w := serve(h, newPost(encode(t, writeReq(many...))))
	require.Equal(t, http.StatusTooManyRequests, w.Code, w.Body.String())
	cost := seriesCost(labels.FromStrings("__name__", "sel_000"), testOpts)
	admitted := int(seriesAdmissionShare * limit / float64(cost))
	require.InDelta(t, admitted, st.Len(), 1)
	require.LessOrEqual(t, float64(h.mem.pending.Load()), seriesAdmissionShare*limit)
	require.Equal(t, float64(100-st.Len()), testutil.ToFloat64(h.dropped[reasonMemory]))

	// Known series are still served.
	w = serve(h, newPost(encode(t, writeReq(series(lbls("__name__", "sel_000"), samples(15_000, 1, 2)...)))))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Equal(t, []float64{1, 2}, storedValues(t, st, "__name__", "sel_000"))

	// A garbage collection measures what was admitted: room is counted anew.
	h.mem.cycles = func() uint64 { return 1 }
	h.mem.last.Store(0)
	w = serve(h, newPost(encode(t, writeReq(series(lbls("__name__", "sel_new"), samples(0, 1, 1)...)))))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
}

func TestHandlerRequestLimits(t *testing.T) {
	valid := series(lbls("__name__", "sel_a", "job", "x"), samples(0, 1, 1)...)
	for _, tc := range []struct {
		name     string
		lim      Limits
		ts       prompb.TimeSeries
		wantCode int
		wantBody string
	}{
		{"too many series", Limits{MaxSeriesPerRequest: 1}, series(lbls("__name__", "sel_b"), samples(0, 1, 1)...),
			http.StatusRequestEntityTooLarge, "request has 2 series, more than limits.max_series_per_request=1"},
		{"too many labels", Limits{MaxLabelsPerSeries: 2}, series(lbls("__name__", "sel_b", "a", "1", "b", "2"), samples(0, 1, 1)...),
			http.StatusBadRequest, "3 labels, more than limits.max_labels_per_series=2"},
		{"label name too long", Limits{MaxLabelNameLength: 8}, series(lbls("__name__", "sel_b", "abcdefghi", "1"), samples(0, 1, 1)...),
			http.StatusBadRequest, "more than limits.max_label_name_length=8"},
		{"label value too long", Limits{MaxLabelValueLength: 8}, series(lbls("__name__", "sel_b", "job", "123456789"), samples(0, 1, 1)...),
			http.StatusBadRequest, "value of \"job\" is 9 bytes, more than limits.max_label_value_length=8"},
		{"within limits", Limits{MaxSeriesPerRequest: 2, MaxLabelsPerSeries: 2, MaxLabelNameLength: 8, MaxLabelValueLength: 8},
			series(lbls("__name__", "sel_b"), samples(0, 1, 1)...), http.StatusNoContent, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := ring.NewStore(0, nil)
			h := NewHandler(nil, prometheus.NewRegistry(), st, nameRouter{}, 0)
			h.Configure(nameRouter{}, tc.lim)
			w := serve(h, newPost(encode(t, writeReq(valid, tc.ts))))
			require.Equal(t, tc.wantCode, w.Code, w.Body.String())
			require.Contains(t, w.Body.String(), tc.wantBody)
			if tc.wantCode == http.StatusBadRequest {
				// The valid series of the request is kept.
				require.Equal(t, []float64{1}, storedValues(t, st, "__name__", "sel_a", "job", "x"))
				require.Contains(t, w.Body.String(), "rejected 1 of 2 series")
			}
		})
	}
}

func TestMemGaugeCaches(t *testing.T) {
	runtime.GC() // /gc/heap/live:bytes is measured by a collection
	g := newMemGauge()
	reads := 0
	g.read = func() uint64 { reads++; return uint64(reads) }
	now := time.Unix(100, 0)
	require.Equal(t, uint64(1), g.bytes(now))
	require.Equal(t, uint64(1), g.bytes(now.Add(memSampleEvery/2)))
	require.Equal(t, uint64(2), g.bytes(now.Add(memSampleEvery)))
	require.Equal(t, memOK, g.pressure(0, now.Add(time.Hour)))
	// The real reader returns a plausible live heap.
	require.Positive(t, newMemGauge().liveHeapBytes())
}

func TestHandlerTenant(t *testing.T) {
	body := encode(t, writeReq(series(lbls("__name__", "sel_a", config.TenantLabel, "spoofed"), samples(0, 1, 1)...)))
	st := ring.NewStore(0, nil)
	h := NewHandler(nil, prometheus.NewRegistry(), st, nameRouter{}, 0)

	// Tenancy off: the header is ignored and a sender's tenant label dropped.
	r := newPost(body)
	r.Header.Set("X-Scope-OrgID", "team-a")
	require.Equal(t, http.StatusNoContent, serve(h, r).Code)
	require.NotNil(t, st.Get(labels.FromStrings("__name__", "sel_a")))

	// Tenancy on: the tenant becomes part of the series.
	h.Configure(nameRouter{}, Limits{TenantHeader: "X-Scope-OrgID"})
	for _, tenant := range []string{"team-a", "team-b"} {
		r := newPost(body)
		r.Header.Set("X-Scope-OrgID", tenant)
		require.Equal(t, http.StatusNoContent, serve(h, r).Code)
		require.NotNil(t, st.Get(labels.FromStrings("__name__", "sel_a", config.TenantLabel, tenant)))
	}
	require.Equal(t, 3, st.Len())
	r = newPost(body)
	r.Header.Set("X-Scope-OrgID", "..")
	w := serve(h, r)
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), "check X-Scope-OrgID header")
}

// TestHandlerMemoryCeilingReal drives the ceiling with the runtime's own
// live-heap figure: a large live allocation makes requests 429, and once it
// is collected they are served again.
func TestHandlerMemoryCeilingReal(t *testing.T) {
	st := ring.NewStore(0, nil)
	h := NewHandler(nil, prometheus.NewRegistry(), st, nameRouter{}, 0)
	h.Configure(nameRouter{}, Limits{MaxMemoryBytes: 64 << 20})
	body := encode(t, writeReq(series(lbls("__name__", "sel_a"), samples(0, 1, 1)...)))

	ballast := make([]byte, 128<<20)
	for i := range ballast {
		ballast[i] = byte(i)
	}
	runtime.GC()
	time.Sleep(memSampleEvery)
	w := serve(h, newPost(body))
	require.Equal(t, http.StatusTooManyRequests, w.Code, w.Body.String())
	runtime.KeepAlive(ballast) // the last use: collectable from here on

	runtime.GC()
	time.Sleep(memSampleEvery)
	w = serve(h, newPost(body))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
}

// TestHandlerEvictsIdleSeries: when max_series is reached, a new series
// takes the place of the least recently written series that has been idle
// for EvictIdleAfter; series still written are never evicted, and eviction
// runs at most once per evictEvery.
func TestHandlerEvictsIdleSeries(t *testing.T) {
	now := time.Now()
	at := func(d time.Duration) []prompb.Sample {
		return []prompb.Sample{{Timestamp: now.Add(d).UnixMilli(), Value: 1}}
	}
	st := ring.NewStore(3, nil)
	h := NewHandler(nil, prometheus.NewRegistry(), st, nameRouter{}, 0)
	h.Configure(nameRouter{}, Limits{EvictIdleAfter: time.Hour})
	require.Equal(t, http.StatusNoContent, serve(h, newPost(encode(t, writeReq(
		series(lbls("__name__", "sel_idle_old"), at(-3*time.Hour)...),
		series(lbls("__name__", "sel_idle"), at(-2*time.Hour)...),
		series(lbls("__name__", "sel_live"), at(-time.Minute)...),
	)))).Code)

	w := serve(h, newPost(encode(t, writeReq(series(lbls("__name__", "sel_new"), at(0)...)))))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Nil(t, st.Get(labels.FromStrings("__name__", "sel_idle_old")), "the least recently written idle series goes")
	require.NotNil(t, st.Get(labels.FromStrings("__name__", "sel_idle")))
	require.NotNil(t, st.Get(labels.FromStrings("__name__", "sel_new")))

	// Within evictEvery, no second eviction: the next new series is refused.
	w = serve(h, newPost(encode(t, writeReq(series(lbls("__name__", "sel_new2"), at(0)...)))))
	require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	require.Equal(t, 1.0, testutil.ToFloat64(h.dropped[reasonMaxSeries]))

	// Later, the remaining idle series makes room; then only live series
	// are left, and a new one is refused.
	h.lastEvict.Store(0)
	w = serve(h, newPost(encode(t, writeReq(series(lbls("__name__", "sel_new2"), at(0)...)))))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.Nil(t, st.Get(labels.FromStrings("__name__", "sel_idle")))
	h.lastEvict.Store(0)
	w = serve(h, newPost(encode(t, writeReq(series(lbls("__name__", "sel_new3"), at(0)...)))))
	require.Equal(t, http.StatusBadRequest, w.Code, w.Body.String())
	require.Equal(t, 3, st.Len())
	require.NotNil(t, st.Get(labels.FromStrings("__name__", "sel_live")))
}

// TestHandlerEvictionFreesMemory: near the memory ceiling, evicting idle
// series makes room for new ones at once (their buffers count as freed).
func TestHandlerEvictionFreesMemory(t *testing.T) {
	now := time.Now()
	cost := seriesCost(labels.FromStrings("__name__", "sel_000"), testOpts)
	limit := int64(float64(10*cost+cost/2) / seriesAdmissionShare) // room for 10 series
	st := ring.NewStore(0, nil)
	h := NewHandler(nil, prometheus.NewRegistry(), st, nameRouter{}, 0)
	h.Configure(nameRouter{}, Limits{MaxMemoryBytes: limit})
	h.mem.read = func() uint64 { return 0 }
	h.mem.cycles = func() uint64 { return 0 }

	var idle []prompb.TimeSeries
	for i := range 10 {
		idle = append(idle, series(lbls("__name__", fmt.Sprintf("sel_%03d", i)),
			prompb.Sample{Timestamp: now.Add(-2 * time.Hour).UnixMilli(), Value: 1}))
	}
	require.Equal(t, http.StatusNoContent, serve(h, newPost(encode(t, writeReq(idle...)))).Code)
	require.Equal(t, 10, st.Len())

	w := serve(h, newPost(encode(t, writeReq(series(lbls("__name__", "sel_new"),
		prompb.Sample{Timestamp: now.UnixMilli(), Value: 1})))))
	require.Equal(t, http.StatusNoContent, w.Code, w.Body.String())
	require.NotNil(t, st.Get(labels.FromStrings("__name__", "sel_new")))
	require.Equal(t, 10, st.Len(), "one idle series made room")
}
