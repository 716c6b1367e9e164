package holtwinters_test

import (
	"testing"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/holtwinters"
	"github.com/train-prometheus/train-prometheus/models/modeltest"
)

const (
	start = int64(1_700_000_000_000)
	step  = int64(60_000)
)

func TestConformance(t *testing.T) {
	modeltest.Conformance(t, holtwinters.New)
}

func BenchmarkFit(b *testing.B) {
	modeltest.BenchmarkFit(b, holtwinters.New(models.Options{}))
}
