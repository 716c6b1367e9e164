package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestOutputPreset(t *testing.T) {
	const base = "forecasts: [{name: a, match: ['up']}]\n"
	for _, tc := range []struct {
		name, output, err string
	}{
		{name: "ancestor", output: "{preset: ancestor}"},
		{name: "ancestor with name label", output: "{preset: ancestor, name_label: metric}"},
		{name: "unknown preset", output: "{preset: python}", err: `output: preset "python" is unknown`},
		{name: "name label without preset", output: "{name_label: metric}", err: `output: name_label "metric" is only used with a preset`},
		{name: "invalid name label", output: "{preset: ancestor, name_label: __name__}", err: `output: name_label "__name__" is not a valid label name`},
		{name: "name label is horizon label", output: "{preset: ancestor, name_label: horizon}", err: `output: name_label and horizon_label are both "horizon"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(base + "output: " + tc.output + "\n")
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, PresetAncestor, cfg.Output.Preset)
			require.Equal(t, "_forecast", cfg.Output.ForecastSuffix, "defaults kept")
		})
	}
}
