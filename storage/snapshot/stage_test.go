package snapshot

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// getCounter counts the object downloads (GETs of a snapshot key, not of
// the bucket listing, nor ranged GETs of a snapshot's header) an S3 server
// answers.
type getCounter struct {
	mu   sync.Mutex
	gets map[string]int
}

func (c *getCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, nameSuffix) && r.Header.Get("Range") == "" {
			c.mu.Lock()
			c.gets[r.URL.Path]++
			c.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

func (c *getCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.gets {
		out[k] = v
	}
	return out
}

// TestRestoreDownloadsOnce checks that a restore from S3 downloads the
// snapshot it applies once (checked and applied from one staged copy),
// a damaged newer one once before it falls back, and leaves no staged file.
func TestRestoreDownloadsOnce(t *testing.T) {
	ctx := context.Background()
	mem := s3mem.New()
	require.NoError(t, mem.CreateBucket("snaps"))
	gets := &getCounter{gets: map[string]int{}}
	srv := httptest.NewServer(gets.wrap(gofakes3.New(mem).Server()))
	t.Cleanup(srv.Close)
	b, err := NewS3(ctx, S3Options{
		Bucket: "snaps", Prefix: "tp", Region: "eu-west-1", Endpoint: srv.URL, PathStyle: true,
		AccessKeyID: "test", SecretAccessKey: "secret",
	})
	require.NoError(t, err)

	now := time.Unix(1_700_000_000, 0)
	src := ring.NewStore(0, nil)
	m := NewManager(nil, nil, src, Hooks{Extra: extraOf}, Options{Now: func() time.Time { return now }})
	m.SetBackend(b, 0)
	fillStore(t, src, 20, 300, 1)
	want := exportAll(src)
	older, err := m.Snapshot(ctx)
	require.NoError(t, err)

	restore := func(t *testing.T) (Info, map[string]int, map[string]string) {
		t.Helper()
		before := gets.snapshot()
		stage := t.TempDir()
		dst := ring.NewStore(0, nil)
		extras := map[string]string{}
		rm := newTestManager(t, dst, b, extras)
		rm.opts.StageDir = stage
		info, err := rm.Restore(ctx)
		require.NoError(t, err)
		requireStoresEqual(t, want, exportAll(dst))
		left, err := os.ReadDir(stage)
		require.NoError(t, err)
		require.Empty(t, left, "staged download removed")
		after := gets.snapshot()
		for k, v := range before {
			after[k] -= v
			if after[k] == 0 {
				delete(after, k)
			}
		}
		return info, after, extras
	}

	t.Run("intact", func(t *testing.T) {
		info, got, extras := restore(t)
		require.Equal(t, older.Name, info.Name)
		require.Equal(t, map[string]int{"/snaps/tp/" + older.Name: 1}, got)
		require.Len(t, extras, len(want))
		for k, v := range extras {
			require.Equal(t, "state of "+k, v)
		}
	})

	t.Run("newest damaged", func(t *testing.T) {
		now = now.Add(time.Minute)
		newer, err := m.Snapshot(ctx)
		require.NoError(t, err)
		rc, err := b.Open(ctx, newer.Name)
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		data = data[:len(data)-3]
		_, err = b.client.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String("snaps"), Key: aws.String(b.prefix + newer.Name), Body: bytes.NewReader(data),
		})
		require.NoError(t, err)

		info, got, _ := restore(t)
		require.Equal(t, older.Name, info.Name)
		require.Equal(t, map[string]int{"/snaps/tp/" + older.Name: 1, "/snaps/tp/" + newer.Name: 1}, got)
	})
}

// TestStageLeftoversRemoved checks that a staged download a killed
// restore left behind is removed by the next restore.
func TestStageLeftoversRemoved(t *testing.T) {
	ctx := context.Background()
	b := s3Backend(t, 0)
	src := ring.NewStore(0, nil)
	m := NewManager(nil, nil, src, Hooks{}, Options{})
	m.SetBackend(b, 0)
	fillStore(t, src, 3, 50, 1)
	_, err := m.Snapshot(ctx)
	require.NoError(t, err)

	stage := t.TempDir()
	leftover := filepath.Join(stage, stagePrefix+namePrefix+"x"+nameSuffix+"-123")
	require.NoError(t, os.WriteFile(leftover, []byte("partial"), 0o600))
	other := filepath.Join(stage, "keep-me")
	require.NoError(t, os.WriteFile(other, nil, 0o600))
	rm := NewManager(nil, nil, ring.NewStore(0, nil), Hooks{}, Options{StageDir: stage})
	rm.SetBackend(b, 0)
	_, err = rm.Restore(ctx)
	require.NoError(t, err)
	require.NoFileExists(t, leftover)
	require.FileExists(t, other)
}
