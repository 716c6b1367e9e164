package auto

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/internal/golden"
	"github.com/train-prometheus/train-prometheus/models"
)

// echo is a candidate whose fits are their own saved state.
type echo string

func (e echo) Name() string { return string(e) }

func (echo) Fit(models.Series, models.Fitted) (models.Fitted, error) {
	return nil, errors.New("echo does not fit")
}

func (echo) Restore(data []byte, _ models.Series) (models.Fitted, error) {
	return echoFit(bytes.Clone(data)), nil
}

type echoFit []byte

func (echoFit) Predict(int64) models.Point       { return models.NaNPoint() }
func (f echoFit) MarshalBinary() ([]byte, error) { return f, nil }

// TestStateGolden: a fixed fit encodes to the bytes committed in testdata
// (written by the encoder of format version 2 as first released), and
// those bytes restore the same fit.
func TestStateGolden(t *testing.T) {
	m := New(models.Options{}, echo("first"), echo("second"), echo("third")).(*model)
	f := &fitted{
		members: []member{
			{name: "third", index: 2, weight: 0.625, fit: echoFit{1, 2, 3}},
			{name: "first", index: 0, weight: 0.375, fit: echoFit{}},
		},
		scales: []float64{1.25, 0.875, 1.5},
		block:  6,
		end:    1_700_000_040_000,
		step:   60_000,
	}
	got, err := f.MarshalBinary()
	require.NoError(t, err)
	want := golden.Bytes(t, "state-v2.bin", got)
	g, err := m.Restore(want, models.Series{})
	require.NoError(t, err)
	require.Equal(t, f, g)
}
