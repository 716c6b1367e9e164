package remoteread

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/stretchr/testify/require"
)

// TestServerAncestorPreset checks that under output.preset ancestor the
// server answers for the names the write-back uses (predicted_values_M,
// _yhat_lower, _yhat_upper), found by their name, and not for the default
// naming scheme's.
func TestServerAncestorPreset(t *testing.T) {
	now := t0 + 4*60*minute
	f := newFixture(t, testConfig+"output: {preset: ancestor, name_label: metric}\n", now)
	f.feed(labels.FromStrings("__name__", "sine", "job", "app"), t0, now, sine)
	require.Equal(t, 1, f.eng.RetrainDue(t.Context(), f.clock()))
	_, ts := f.server(nil)

	got, err := readAll(t, ts.URL, query(f.now, f.now+10*minute, eq("__name__", "predicted_values_fourier")))
	require.NoError(t, err)
	want := `{__name__="predicted_values_fourier", cluster="test", job="app", metric="sine"}`
	require.Contains(t, got, want, "got %v", got)
	require.Len(t, got, 1)
	require.Len(t, got[want], 11)
	for _, s := range got[want] {
		require.InDelta(t, sine(s.Timestamp), s.Value, 2)
	}

	// A regexp over the names: every value type of both models.
	got, err = readAll(t, ts.URL, query(f.now, f.now+10*minute,
		&prompb.LabelMatcher{Type: prompb.LabelMatcher_RE, Name: "__name__", Value: "predicted_values_.+"}, eq("metric", "sine")))
	require.NoError(t, err)
	require.Len(t, got, 6)

	// The default scheme's names are not served under the preset.
	got, err = readAll(t, ts.URL, query(f.now, f.now+10*minute, eq("__name__", "sine_forecast")))
	require.NoError(t, err)
	require.Empty(t, got)
}
