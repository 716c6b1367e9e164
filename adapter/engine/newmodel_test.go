package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/adapter/config"
	"github.com/train-prometheus/train-prometheus/models"
)

// TestNewModelKnowsEveryConfigName checks every model name the config
// accepts builds a model of that name, and unknown names are refused.
func TestNewModelKnowsEveryConfigName(t *testing.T) {
	for _, name := range config.KnownModels {
		m, err := NewModel(name, models.Options{})
		require.NoError(t, err, name)
		require.Equal(t, name, m.Name())
	}
	_, err := NewModel("nope", models.Options{})
	require.Error(t, err)
}
