package registry

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models"
)

// TestNewKnowsEveryName: every registered name builds a model of that name,
// and no other name does.
func TestNewKnowsEveryName(t *testing.T) {
	names := Names()
	require.Equal(t, "auto", names[0], "the offline tools' default")
	seen := map[string]bool{}
	for _, name := range names {
		require.False(t, seen[name], "%s twice", name)
		seen[name] = true
		require.True(t, Known(name))
		m, err := New(name, models.Options{})
		require.NoError(t, err, name)
		require.Equal(t, name, m.Name())
	}
	require.False(t, Known("crystal_ball"))
	_, err := New("crystal_ball", models.Options{})
	require.ErrorContains(t, err, `unknown model "crystal_ball"`)
}
