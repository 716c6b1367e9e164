// Package offline holds the offline tools behind the forecast, detect and
// evaluate subcommands: CSV input, a worker pool over series, the replay of
// a file through the live engine, and the accuracy benchmark. They build
// their models with models/registry, so they run the server's model code.
package offline

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseError is bad input at a place in a file. Column is the 1-based
// field number, except for CSV syntax errors, where it is the byte column
// encoding/csv reports.
type ParseError struct {
	File         string
	Line, Column int
	Err          error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Column, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ErrNoData reports an input without a single data row.
var ErrNoData = errors.New("no data rows")

// csvReader wraps encoding/csv with positions for the errors.
type csvReader struct {
	name string
	r    *csv.Reader
	n    int // fields in the last record
}

func newCSVReader(r io.Reader, name string) *csvReader {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked by the callers, with better messages
	cr.ReuseRecord = true
	return &csvReader{name: name, r: cr}
}

// read returns the next record, io.EOF at the end, or a *ParseError.
func (c *csvReader) read() ([]string, error) {
	rec, err := c.r.Read()
	var pe *csv.ParseError
	switch {
	case err == nil:
		c.n = len(rec)
		return rec, nil
	case errors.Is(err, io.EOF):
		return nil, err
	case errors.As(err, &pe):
		return nil, &ParseError{File: c.name, Line: pe.Line, Column: pe.Column, Err: pe.Err}
	}
	return nil, fmt.Errorf("read %s: %w", c.name, err)
}

// errorf returns a *ParseError at field i (0-based) of the last record; i
// may be one past its last field (a missing field).
func (c *csvReader) errorf(i int, format string, args ...any) error {
	line, _ := c.r.FieldPos(max(0, min(i, c.n-1)))
	return &ParseError{File: c.name, Line: line, Column: i + 1, Err: fmt.Errorf(format, args...)}
}

// line returns the line the last record started on.
func (c *csvReader) line() int {
	l, _ := c.r.FieldPos(0)
	return l
}

// parseValue parses a finite float.
func parseValue(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("value %q is not a number", s)
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("value %q is not a finite number", s)
	}
	return v, nil
}

// Series is one row of a wide file: an id and its values in time order.
type Series struct {
	ID     string
	Values []float64
	Line   int
}

// ReadWide reads the wide layout of the M4 files: each row is an id
// followed by the series' values in time order. Empty cells at the end of a
// row are allowed (series differ in length); an empty cell before a value
// is an error. A first row whose value fields are all non-numeric (M4's
// "V1","V2",…) is a header and is skipped. name is used in errors.
func ReadWide(r io.Reader, name string) ([]Series, error) {
	cr := newCSVReader(r, name)
	var out []Series
	for first := true; ; first = false {
		rec, err := cr.read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if first && isHeader(rec[min(1, len(rec)):]) {
			continue
		}
		s, err := wideRow(cr, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrNoData)
	}
	return out, nil
}

func wideRow(cr *csvReader, rec []string) (Series, error) {
	s := Series{ID: strings.TrimSpace(rec[0]), Line: cr.line()}
	if s.ID == "" {
		return s, cr.errorf(0, "empty series id")
	}
	n := len(rec)
	for n > 1 && strings.TrimSpace(rec[n-1]) == "" {
		n--
	}
	if n == 1 {
		return s, cr.errorf(1, "series %q has no values", s.ID)
	}
	s.Values = make([]float64, 0, n-1)
	for i := 1; i < n; i++ {
		if strings.TrimSpace(rec[i]) == "" {
			return s, cr.errorf(i, "empty value before the end of series %q", s.ID)
		}
		v, err := parseValue(rec[i])
		if err != nil {
			return s, cr.errorf(i, "%w", err)
		}
		s.Values = append(s.Values, v)
	}
	return s, nil
}

// isHeader reports whether fields has a non-empty field and none of its
// non-empty fields is a number.
func isHeader(fields []string) bool {
	seen := false
	for _, f := range fields {
		if strings.TrimSpace(f) == "" {
			continue
		}
		if _, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err == nil {
			return false
		}
		seen = true
	}
	return seen
}

// Row is one line of a timestamp,value file.
type Row struct {
	Stamp string // the timestamp as written, echoed in the output
	Time  int64  // ms since the epoch
	Value float64
	Line  int
}

// ReadRows reads timestamp,value rows. Timestamps are RFC 3339,
// "YYYY-MM-DD HH:MM:SS" (UTC, optionally with fractional seconds) or Unix
// seconds (optionally fractional). A first row in which neither field
// parses is a header and is skipped. name is used in errors.
//
// The rows are returned in file order, which is the order the live
// receiver would have received them in. Timestamps need not increase: a
// repeated timestamp (e.g. the repeated hour of a daylight-saving change
// written in local time) or an out-of-order row is not an error. Detect
// replays such rows as the receiver takes them; CheckOrder counts them.
func ReadRows(r io.Reader, name string) ([]Row, error) {
	cr := newCSVReader(r, name)
	var out []Row
	for first := true; ; first = false {
		rec, err := cr.read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) != 2 {
			return nil, cr.errorf(min(len(rec), 2), "want 2 fields (timestamp,value), got %d", len(rec))
		}
		ts, tsErr := ParseTimestamp(rec[0])
		v, vErr := parseValue(rec[1])
		switch {
		case first && tsErr != nil && vErr != nil:
			continue // header
		case tsErr != nil:
			return nil, cr.errorf(0, "%w", tsErr)
		case vErr != nil:
			return nil, cr.errorf(1, "%w", vErr)
		}
		out = append(out, Row{Stamp: strings.TrimSpace(rec[0]), Time: ts, Value: v, Line: cr.line()})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrNoData)
	}
	return out, nil
}

// maxUnixSeconds bounds Unix timestamps so that milliseconds fit an int64
// with room for grid arithmetic (year 2^33 s ≈ 272 years past 2000 is far
// beyond any real data; this allows ±10^13 s).
const maxUnixSeconds = 1e13

// ParseTimestamp parses s as RFC 3339, "YYYY-MM-DD HH:MM:SS" (UTC) or Unix
// seconds, and returns milliseconds since the epoch.
func ParseTimestamp(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.Abs(f) > maxUnixSeconds {
			return 0, fmt.Errorf("timestamp %q is out of range", s)
		}
		return int64(math.Round(f * 1000)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf(`timestamp %q is not RFC 3339, "YYYY-MM-DD HH:MM:SS" or Unix seconds`, s)
}
