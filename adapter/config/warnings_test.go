package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		name string
		yml  string
		want []string // substrings, one per warning, in order
	}{
		{
			name: "does nothing",
			yml:  `{}`,
			want: []string{"no forecasts entries", "no remote_write targets"},
		},
		{
			name: "nothing to warn about",
			yml: `
forecasts: [{name: a, match: ['{__name__="x", job="a"}', 'y']}]
remote_write: [{url: 'http://localhost:9090/api/v1/write'}]
`,
		},
		{
			name: "ancestor names with several metrics",
			yml: `
output: {preset: ancestor}
forecasts: [{name: a, match: ['x', '{job="a"}']}, {name: b, match: ['y']}]
remote_write: [{url: 'http://localhost:9090/api/v1/write'}]
`,
			want: []string{`forecasts "a" match[1] "{job=\"a\"}" may select several metrics`, "select 2 metric names"},
		},
		{
			name: "ancestor names with name_label",
			yml: `
output: {preset: ancestor, name_label: metric}
forecasts: [{name: a, match: ['x', '{job="a"}']}]
remote_write: [{url: 'http://localhost:9090/api/v1/write'}]
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(tc.yml)
			require.NoError(t, err)
			got := cfg.Warnings()
			require.Len(t, got, len(tc.want), "%q", got)
			for i, w := range tc.want {
				require.Contains(t, got[i], w)
			}
		})
	}
}
