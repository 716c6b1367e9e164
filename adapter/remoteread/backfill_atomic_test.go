package remoteread

import (
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

// corruptAfterFirstFrame answers as src does, but with every frame of a
// streamed answer after the first given a wrong checksum: the answer fails
// midway, after a whole series has been read.
func corruptAfterFirstFrame(src http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		src.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Header().Get("Content-Type") == contentTypeStreamed {
			n, k := binary.Uvarint(body)
			if first := k + 4 + int(n); first+k+4 <= len(body) {
				body[first+k] ^= 0xff // the second frame's CRC
			}
		}
		for name, v := range rec.Header() {
			w.Header()[name] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// TestBackfillFailedAnswerNotApplied: an answer that fails midway (a
// corrupt frame) is retried, and none of it is applied, not even the
// series read whole before the failure.
func TestBackfillFailedAnswerNotApplied(t *testing.T) {
	now := t0 + 8*60*minute
	src := newTestSource(true)
	src.add(sineA, t0, now, 15000, sine)
	src.add(labels.FromStrings("__name__", "sine", "job", "b"), t0, now, 15000, sine)
	ts := httptest.NewServer(corruptAfterFirstFrame(src))
	defer ts.Close()

	b := startBackfill(t, newFixture(t, testConfig, now), ts.URL, "")
	waitUntil(t, "a few failed attempts", func() bool { return b.metric("failures") >= 3 })
	require.Zero(t, b.metric("series"))
	require.Zero(t, b.store.Len(), "no series of a failed answer is buffered")
}

// TestSeenSeriesComparesLabels: series whose hashes collide are told apart
// by their labels (the backfill used to take the second for a duplicate of
// the first, and drop it).
func TestSeenSeriesComparesLabels(t *testing.T) {
	a := labels.FromStrings("__name__", "x", "i", "1")
	c := labels.FromStrings("__name__", "x", "i", "3")
	var seen seenSeries
	require.False(t, seen.add(a))
	require.True(t, seen.add(a))
	// Force a collision: a filed under c's hash too.
	seen[c.Hash()] = []labels.Labels{a}
	require.False(t, seen.add(c), "a colliding hash alone does not make c a duplicate")
	require.True(t, seen.add(c))
	require.True(t, seen.add(a))
}
