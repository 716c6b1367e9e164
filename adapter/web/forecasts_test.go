package web

import (
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"
)

func TestAppendSample(t *testing.T) {
	ls := labels.FromStrings("__name__", "m", "a", `q"\`)
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{1.5, `m{a="q\"\\"} 1.5` + "\n"},
		{math.Inf(1), `m{a="q\"\\"} +Inf` + "\n"},
		{math.Inf(-1), `m{a="q\"\\"} -Inf` + "\n"},
		{1e21, `m{a="q\"\\"} 1e+21` + "\n"},
	} {
		require.Equal(t, tc.want, string(appendSample(nil, "m", ls, tc.v)))
	}
	require.Equal(t, "m 2\n", string(appendSample(nil, "m", labels.FromStrings("__name__", "m"), 2)))
}
