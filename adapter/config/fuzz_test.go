package config

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v2"
)

// FuzzLoad checks that Load never panics and that what it accepts is
// valid: validating the result again succeeds and changes nothing.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yml")
	require.NoError(f, err)
	files = append(files, exampleFile)
	require.NotEmpty(f, files)
	for _, file := range files {
		b, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(string(b))
	}

	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := Load(s)
		if err != nil {
			require.Nil(t, cfg)
			return
		}
		require.NotNil(t, cfg)
		before, err := yaml.Marshal(cfg)
		require.NoError(t, err)
		require.NoError(t, cfg.Validate(), "loaded configuration does not validate again:\n%s", s)
		after, err := yaml.Marshal(cfg)
		require.NoError(t, err)
		require.Equal(t, string(before), string(after), "validating again changed the configuration")
		for _, fc := range cfg.Forecasts {
			require.Len(t, fc.Matchers, len(fc.Match))
			require.GreaterOrEqual(t, fc.Capacity(), 2)
		}
	})
}
