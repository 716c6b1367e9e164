package modeltest

import (
	"encoding/csv"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// M4Hourly is the M4 competition's hourly training set (414 series of 700
// or 960 hours) as seen from a model package's directory, where the shared
// datasets are checked out beside the repository.
const M4Hourly = "../../../shared/datasets/m4-hourly/Hourly-train.csv"

// ReadM4 returns the series of an M4 training file: one per row after the
// header, an id and then the values, empty cells at the end. The test is
// skipped when the file is absent, since the shared datasets may be.
func ReadM4(t testing.TB, path string) [][]float64 {
	t.Helper()
	fh, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("%s not found", path)
	}
	require.NoError(t, err)
	defer fh.Close()
	r := csv.NewReader(fh)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, rows, "%s: no header", path)
	var out [][]float64
	for _, row := range rows[1:] {
		var vals []float64
		for _, cell := range row[1:] {
			if cell == "" {
				break
			}
			v, err := strconv.ParseFloat(cell, 64)
			require.NoError(t, err)
			vals = append(vals, v)
		}
		out = append(out, vals)
	}
	return out
}
