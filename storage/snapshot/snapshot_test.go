package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// testBackend is a backend under test plus a way to tamper with what it
// stores.
type testBackend struct {
	Backend
	rewrite func(t *testing.T, name string, f func([]byte) []byte)
}

func localBackend(t *testing.T) testBackend {
	dir := t.TempDir()
	b, err := NewLocal(dir)
	require.NoError(t, err)
	return testBackend{b, func(t *testing.T, name string, f func([]byte) []byte) {
		p := filepath.Join(dir, name)
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, f(data), 0o600))
	}}
}

// s3Backend starts a real S3-protocol server (gofakes3) on 127.0.0.1 and
// returns a backend talking to it over HTTP with the AWS SDK.
func s3Backend(t *testing.T, partSize int) testBackend {
	mem := s3mem.New()
	require.NoError(t, mem.CreateBucket("snaps"))
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)
	b, err := NewS3(context.Background(), S3Options{
		Bucket: "snaps", Prefix: "tp/node-1", Region: "eu-west-1", Endpoint: srv.URL, PathStyle: true,
		AccessKeyID: "test", SecretAccessKey: "secret", PartSize: partSize,
	})
	require.NoError(t, err)
	return testBackend{b, func(t *testing.T, name string, f func([]byte) []byte) {
		ctx := context.Background()
		rc, err := b.Open(ctx, name)
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		_, err = b.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("snaps"), Key: aws.String(b.prefix + name), Body: bytes.NewReader(f(data)),
		})
		require.NoError(t, err)
	}}
}

func forEachBackend(t *testing.T, f func(t *testing.T, b testBackend)) {
	t.Run("local", func(t *testing.T) { f(t, localBackend(t)) })
	t.Run("s3", func(t *testing.T) { f(t, s3Backend(t, 0)) })
}

// fillStore adds n series with irregular data: gaps, several grids and
// aggregations, a ring wrapped over, and one series without data.
func fillStore(t testing.TB, store *ring.Store, n, points int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range n {
		opts := ring.Options{Step: time.Duration(1+i%3) * time.Second, Window: time.Duration(points/2+i%7) * time.Second,
			Aggregate: ring.Aggregation(i % 5)}
		ser, _, err := store.GetOrCreate(labels.FromStrings("__name__", "m", "i", fmt.Sprint(i), "seed", fmt.Sprint(seed)), opts)
		require.NoError(t, err)
		if i == n-1 {
			continue // no data
		}
		ts, v := int64(1_700_000_000_000), float64(rng.IntN(100))
		for range points {
			ts += rng.Int64N(2000)
			if rng.IntN(10) != 0 {
				v += math.Round(rng.NormFloat64()*10) / 10
			}
			_ = ser.Append(ts, v)
		}
	}
}

func exportAll(store *ring.Store) map[string]ring.SeriesState {
	out := map[string]ring.SeriesState{}
	store.Range(func(s *ring.Series) bool {
		if st := s.Export(nil); len(st.Values) > 0 {
			out[s.Labels().String()] = st
		}
		return true
	})
	return out
}

func requireStoresEqual(t *testing.T, want, got map[string]ring.SeriesState) {
	t.Helper()
	require.Len(t, got, len(want))
	for k, w := range want {
		g, ok := got[k]
		require.True(t, ok, "series %s restored", k)
		require.Equal(t, w.Options, g.Options, k)
		require.Equal(t, w.Start, g.Start, k)
		require.Equal(t, w.LastT, g.LastT, k)
		require.Equal(t, w.OpenCount, g.OpenCount, k)
		require.Equal(t, math.Float64bits(w.OpenSum), math.Float64bits(g.OpenSum), k)
		require.Len(t, g.Values, len(w.Values), k)
		for i := range w.Values {
			require.Equal(t, math.Float64bits(w.Values[i]), math.Float64bits(g.Values[i]), "%s cell %d", k, i)
		}
	}
}

func extraOf(ser *ring.Series) []byte { return []byte("state of " + ser.Labels().String()) }

func newTestManager(t testing.TB, store *ring.Store, b Backend, extras map[string]string) *Manager {
	hooks := Hooks{Extra: extraOf}
	if extras != nil {
		hooks.Restore = func(st ring.SeriesState, extra []byte) (bool, error) {
			extras[st.Labels.String()] = string(extra)
			_, err := store.Restore(st)
			return err == nil, err
		}
	}
	m := NewManager(nil, nil, store, hooks, Options{})
	m.SetBackend(b, 0)
	return m
}

func TestRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testBackend) {
		src := ring.NewStore(0, nil)
		fillStore(t, src, 40, 300, 1)
		info, err := newTestManager(t, src, b, nil).Snapshot(context.Background())
		require.NoError(t, err)
		require.Equal(t, 39, info.Series, "the series without data is left out")
		require.Positive(t, info.Bytes)

		dst := ring.NewStore(0, nil)
		extras := map[string]string{}
		got, err := newTestManager(t, dst, b, extras).Restore(context.Background())
		require.NoError(t, err)
		require.Equal(t, info.Name, got.Name)
		require.Equal(t, info.Bytes, got.Bytes)
		require.Equal(t, 39, got.Series)
		require.Equal(t, info.Created.UnixMilli(), got.Created.UnixMilli())
		requireStoresEqual(t, exportAll(src), exportAll(dst))
		for k, v := range extras {
			require.Equal(t, "state of "+k, v)
		}
		require.Len(t, extras, 39)
	})
}

func TestRestoreEmpty(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testBackend) {
		info, err := newTestManager(t, ring.NewStore(0, nil), b, nil).Restore(context.Background())
		require.NoError(t, err)
		require.Equal(t, Info{}, info)
	})
}

// TestRestoreSkipsDamaged writes an older and a newer snapshot, damages the
// newer one in several ways, and checks that each time the older one is
// restored whole and nothing of the damaged one.
func TestRestoreSkipsDamaged(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testBackend) {
		ctx := context.Background()
		now := time.Unix(1_700_000_000, 0)
		store := ring.NewStore(0, nil)
		m := NewManager(nil, nil, store, Hooks{}, Options{Now: func() time.Time { return now }})
		m.SetBackend(b, 0)
		fillStore(t, store, 10, 100, 1)
		older := exportAll(store)
		oldInfo, err := m.Snapshot(ctx)
		require.NoError(t, err)
		fillStore(t, store, 10, 100, 2) // ten more series
		now = now.Add(time.Minute)
		newInfo, err := m.Snapshot(ctx)
		require.NoError(t, err)
		require.Equal(t, 18, newInfo.Series)
		good := func() []byte {
			rc, err := b.Open(ctx, newInfo.Name)
			require.NoError(t, err)
			defer rc.Close()
			data, err := io.ReadAll(rc)
			require.NoError(t, err)
			return data
		}()

		for _, tc := range []struct {
			name    string
			damage  func([]byte) []byte
			wantErr error
		}{
			{"bit flip", func(d []byte) []byte { d[len(d)/2] ^= 0x10; return d }, ErrCorrupt},
			{"truncated", func(d []byte) []byte { return d[:len(d)*2/3] }, ErrCorrupt},
			{"end record cut", func(d []byte) []byte { return d[:len(d)-1] }, ErrCorrupt},
			{"trailing garbage", func(d []byte) []byte { return append(d, 0) }, ErrCorrupt},
			{"empty", func([]byte) []byte { return nil }, ErrCorrupt},
			{"other file", func([]byte) []byte { return []byte("PK\x03\x04 some zip") }, ErrNotSnapshot},
			{"future version", func(d []byte) []byte { d[len(magic)] = FormatVersion + 1; return d }, ErrUnsupportedVersion},
			{"old version", func(d []byte) []byte { d[len(magic)] = 0; return d }, ErrUnsupportedVersion},
		} {
			t.Run(tc.name, func(t *testing.T) {
				b.rewrite(t, newInfo.Name, func([]byte) []byte { return tc.damage(bytes.Clone(good)) })
				rc, err := b.Open(ctx, newInfo.Name)
				require.NoError(t, err)
				err = drain(rc)
				require.ErrorIs(t, err, tc.wantErr)
				if errors.Is(tc.wantErr, ErrUnsupportedVersion) {
					require.ErrorContains(t, err, "this build reads version 1 only")
				}

				dst := ring.NewStore(0, nil)
				info, err := newTestManager(t, dst, b, nil).Restore(ctx)
				require.NoError(t, err)
				require.Equal(t, oldInfo.Name, info.Name)
				requireStoresEqual(t, older, exportAll(dst))
			})
		}

		t.Run("all damaged", func(t *testing.T) {
			b.rewrite(t, oldInfo.Name, func(d []byte) []byte { return d[:10] })
			dst := ring.NewStore(0, nil)
			m := NewManager(nil, nil, dst, Hooks{}, Options{Keep: 1})
			m.SetBackend(b, 0)
			_, err := m.Restore(ctx)
			require.ErrorIs(t, err, ErrCorrupt)
			require.ErrorContains(t, err, "no usable snapshot")
			require.Equal(t, 0, dst.Len())
			// What could not be read is kept, not pruned by new snapshots.
			for range 2 {
				_, err = m.Snapshot(ctx)
				require.NoError(t, err)
			}
			names, err := b.List(ctx)
			require.NoError(t, err)
			require.Subset(t, names, []string{oldInfo.Name, newInfo.Name})
		})
	})
}

func drain(rc io.ReadCloser) error {
	defer rc.Close()
	r, err := NewReader(rc)
	if err != nil {
		return err
	}
	for {
		if _, _, err := r.Next(true); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func TestKeepsNewest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testBackend) {
		now := time.Unix(1_700_000_000, 0)
		store := ring.NewStore(0, nil)
		fillStore(t, store, 3, 10, 1)
		m := NewManager(nil, nil, store, Hooks{}, Options{Keep: 2, Now: func() time.Time { return now }})
		m.SetBackend(b, 0)
		var names []string
		for range 4 {
			now = now.Add(time.Second)
			info, err := m.Snapshot(context.Background())
			require.NoError(t, err)
			names = append(names, info.Name)
		}
		got, err := b.List(context.Background())
		require.NoError(t, err)
		require.ElementsMatch(t, names[2:], got)
	})
}

// TestAbortedSnapshotLeavesPrevious cancels a snapshot half way: the
// previous snapshot stays the newest and no temporary file is left.
func TestAbortedSnapshotLeavesPrevious(t *testing.T) {
	dir := t.TempDir()
	b, err := NewLocal(dir)
	require.NoError(t, err)
	store := ring.NewStore(0, nil)
	fillStore(t, store, 20, 50, 1)
	now := time.Unix(1_700_000_000, 0)
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	m := NewManager(nil, nil, store, Hooks{Extra: func(*ring.Series) []byte {
		if calls++; calls == 25 {
			cancel() // during the second snapshot
		}
		return nil
	}}, Options{Now: func() time.Time { now = now.Add(time.Second); return now }})
	m.SetBackend(b, 0)
	first, err := m.Snapshot(ctx)
	require.NoError(t, err)
	_, err = m.Snapshot(ctx)
	require.ErrorIs(t, err, context.Canceled)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1)
	require.Equal(t, first.Name, entries[0].Name())

	// A temporary file a crash left behind is removed on start.
	tmp := filepath.Join(dir, snapshotName(now)+".tmp123")
	require.NoError(t, os.WriteFile(tmp, []byte("half"), 0o600))
	_, err = NewLocal(dir)
	require.NoError(t, err)
	_, err = os.Stat(tmp)
	require.True(t, os.IsNotExist(err))
}

// TestS3Multipart streams a snapshot larger than a part: it is uploaded in
// several parts and reads back equal.
func TestS3Multipart(t *testing.T) {
	b := s3Backend(t, minPartSize)
	src := ring.NewStore(0, nil)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 200 {
		ser, _, err := src.GetOrCreate(labels.FromStrings("__name__", "noise", "i", fmt.Sprint(i)),
			ring.Options{Step: time.Second, Window: 5000 * time.Second})
		require.NoError(t, err)
		for j := range 5000 {
			require.NoError(t, ser.Append(int64(j)*1000, rng.Float64()))
		}
	}
	info, err := newTestManager(t, src, b, nil).Snapshot(context.Background())
	require.NoError(t, err)
	require.Greater(t, info.Bytes, int64(minPartSize), "more than one part")

	dst := ring.NewStore(0, nil)
	_, err = newTestManager(t, dst, b, nil).Restore(context.Background())
	require.NoError(t, err)
	requireStoresEqual(t, exportAll(src), exportAll(dst))
}

func TestS3Errors(t *testing.T) {
	_, err := NewS3(context.Background(), S3Options{})
	require.ErrorContains(t, err, "bucket is required")
	_, err = NewS3(context.Background(), S3Options{Bucket: "b", PartSize: 1024})
	require.ErrorContains(t, err, "part size")

	// A bucket that does not exist: the snapshot fails and is counted.
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	b, err := NewS3(context.Background(), S3Options{Bucket: "missing", Endpoint: srv.URL, PathStyle: true,
		AccessKeyID: "a", SecretAccessKey: "b"})
	require.NoError(t, err)
	store := ring.NewStore(0, nil)
	fillStore(t, store, 2, 10, 1)
	reg := prometheus.NewPedanticRegistry()
	m := NewManager(nil, reg, store, Hooks{}, Options{})
	m.SetBackend(b, 0)
	_, err = m.Snapshot(context.Background())
	require.ErrorContains(t, err, "NoSuchBucket")
	require.Equal(t, 1.0, testutil.ToFloat64(m.metrics.failures))
	_, err = m.Restore(context.Background())
	require.Error(t, err)
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	store := ring.NewStore(0, nil)
	fillStore(t, store, 5, 20, 1)
	b := localBackend(t)
	m := NewManager(nil, reg, store, Hooks{}, Options{})
	m.SetBackend(b, 0)
	info, err := m.Snapshot(context.Background())
	require.NoError(t, err)
	_, err = NewManager(nil, prometheus.NewRegistry(), ring.NewStore(0, nil), Hooks{}, Options{}).Restore(context.Background())
	require.Error(t, err, "no backend")
	_, err = m.Restore(context.Background()) // into a store already holding the series: counted as dropped
	require.NoError(t, err)

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Equal(t, float64(info.Bytes), testutil.ToFloat64(m.metrics.lastBytes))
	require.Equal(t, 4.0, testutil.ToFloat64(m.metrics.lastSeries))
	require.InDelta(t, float64(info.Created.UnixMilli())/1000, testutil.ToFloat64(m.metrics.lastSuccess), 1e-3)
	require.Equal(t, 0.0, testutil.ToFloat64(m.metrics.restoredSeries))
	require.Equal(t, 1, testutil.CollectAndCount(reg, "train_prometheus_snapshot_duration_seconds"))
}

// TestRunWritesPeriodically runs the loop with a short interval.
func TestRunWritesPeriodically(t *testing.T) {
	store := ring.NewStore(0, nil)
	fillStore(t, store, 3, 10, 1)
	b := localBackend(t)
	m := NewManager(nil, nil, store, Hooks{}, Options{Keep: 100})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	m.SetBackend(b, 20*time.Millisecond) // picked up by the running loop
	require.Eventually(t, func() bool {
		names, err := b.List(context.Background())
		return err == nil && len(names) >= 2
	}, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

func FuzzReader(f *testing.F) {
	store := ring.NewStore(0, nil)
	fillStore(f, store, 3, 20, 1)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, time.Unix(1, 0))
	require.NoError(f, err)
	store.Range(func(s *ring.Series) bool {
		require.NoError(f, w.Add(s.Export(nil), []byte("x")))
		return true
	})
	require.NoError(f, w.Close())
	f.Add(buf.Bytes())
	f.Add([]byte(magic + "\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		dst := ring.NewStore(0, nil)
		for {
			st, _, err := r.Next(true)
			if err != nil {
				require.True(t, errors.Is(err, io.EOF) || strings.Contains(err.Error(), "corrupt"), "%v", err)
				return
			}
			_, _ = dst.Restore(st) // a decoded state is valid or refused, never a panic
		}
	})
}
