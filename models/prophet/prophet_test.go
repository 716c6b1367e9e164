package prophet_test

import (
	"testing"

	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/models/modeltest"
	"github.com/train-prometheus/train-prometheus/models/prophet"
)

func BenchmarkFit(b *testing.B) {
	modeltest.BenchmarkFit(b, prophet.New(models.Options{}, prophet.Options{}))
}
