package offline

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// addSeeds adds every testdata CSV file to the corpus.
func addSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.csv"))
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil && len(data) < 1<<16 {
			f.Add(data)
		}
	}
}

// checkErr fails unless err is nil, a *ParseError with a position, or
// ErrNoData.
func checkErr(t *testing.T, err error) {
	var pe *ParseError
	switch {
	case err == nil, errors.Is(err, ErrNoData):
	case errors.As(err, &pe):
		if pe.Line < 1 || pe.Column < 1 {
			t.Fatalf("error without a position: %v", err)
		}
	default:
		t.Fatalf("unexpected error type %T: %v", err, err)
	}
}

func FuzzReadWide(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		series, err := ReadWide(bytes.NewReader(data), "f.csv")
		checkErr(t, err)
		for _, s := range series {
			if len(s.Values) == 0 || s.ID == "" {
				t.Fatalf("accepted an empty series: %+v", s)
			}
		}
	})
}

func FuzzReadRows(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			return
		}
		rows, err := ReadRows(bytes.NewReader(data), "f.csv")
		checkErr(t, err)
		// Timestamps need not increase; CheckOrder counts the rows that do
		// not, each once, and names lines of the file.
		d := CheckOrder(rows)
		increasing := 0
		newest := int64(math.MinInt64)
		for i, r := range rows {
			if r.Line < 1 || (i > 0 && r.Line <= rows[i-1].Line) {
				t.Fatalf("row %d has line %d after line %d", i, r.Line, rows[max(i-1, 0)].Line)
			}
			if r.Time > newest {
				increasing++
				newest = r.Time
			}
		}
		if d.Rows() != len(rows)-increasing {
			t.Fatalf("%d rows, %d advance the time, but CheckOrder counts %+v", len(rows), increasing, d)
		}
		for _, c := range [][2]int{{d.Repeated, d.RepeatedLine}, {d.OutOfOrder, d.OutOfOrderLine}} {
			if (c[0] == 0) != (c[1] == 0) || (c[1] != 0 && !slices.ContainsFunc(rows, func(r Row) bool { return r.Line == c[1] })) {
				t.Fatalf("bad first line in %+v", d)
			}
		}
	})
}
