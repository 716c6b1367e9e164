package offline

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
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
		for i := 1; i < len(rows); i++ {
			if rows[i].Time <= rows[i-1].Time {
				t.Fatalf("rows out of order: %+v then %+v", rows[i-1], rows[i])
			}
		}
	})
}
