package offline

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func readTestdata(t *testing.T, name string) (*os.File, string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return f, path
}

func TestReadWideGood(t *testing.T) {
	f, path := readTestdata(t, "wide.good.csv")
	got, err := ReadWide(f, path)
	require.NoError(t, err)
	require.Equal(t, []Series{
		{ID: "H1", Values: []float64{605, 586, 586.5}, Line: 2},
		{ID: "H2", Values: []float64{1, 2}, Line: 3},
		{ID: "H3", Values: []float64{-1500, 2, 3, 4}, Line: 4},
	}, got)
}

func TestReadWideNoHeader(t *testing.T) {
	got, err := ReadWide(strings.NewReader("a,1,2\n"), "x.csv")
	require.NoError(t, err)
	require.Equal(t, []Series{{ID: "a", Values: []float64{1, 2}, Line: 1}}, got)
}

// TestReadBad checks that each bad file fails with an error naming the
// file, line and field.
func TestReadBad(t *testing.T) {
	for _, tc := range []struct {
		file string
		want string
	}{
		{"wide-number.bad.csv", `wide-number.bad.csv:1:4: value "abc" is not a number`},
		{"wide-gap.bad.csv", `wide-gap.bad.csv:1:3: empty value before the end of series "H1"`},
		{"wide-novalues.bad.csv", `wide-novalues.bad.csv:3:2: series "H2" has no values`},
		{"wide-quote.bad.csv", `wide-quote.bad.csv:1:7: bare " in non-quoted-field`},
		{"wide-nan.bad.csv", `wide-nan.bad.csv:1:3: value "NaN" is not a finite number`},
		{"wide-id.bad.csv", `wide-id.bad.csv:2:1: empty series id`},
		{"wide-header-only.bad.csv", `wide-header-only.bad.csv: no data rows`},
		{"rows-number.bad.csv", `rows-number.bad.csv:12:2: value "abc" is not a number`},
		{"rows-time.bad.csv", `rows-time.bad.csv:2:1: timestamp "yesterday" is not RFC 3339, "YYYY-MM-DD HH:MM:SS" or Unix seconds`},
		{"rows-fields.bad.csv", `rows-fields.bad.csv:2:3: want 2 fields (timestamp,value), got 3`},
		{"rows-onefield.bad.csv", `rows-onefield.bad.csv:1:2: want 2 fields (timestamp,value), got 1`},
		{"rows-empty.bad.csv", `rows-empty.bad.csv:2:2: value "" is not a number`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, path := readTestdata(t, tc.file)
			var err error
			if strings.HasPrefix(tc.file, "wide") {
				_, err = ReadWide(f, path)
			} else {
				_, err = ReadRows(f, path)
			}
			require.EqualError(t, err, filepath.Join("testdata", tc.want))
			var pe *ParseError
			if errors.As(err, &pe) {
				require.Positive(t, pe.Line)
				require.Positive(t, pe.Column)
			} else {
				require.ErrorIs(t, err, ErrNoData)
			}
		})
	}
}

func TestReadRowsGood(t *testing.T) {
	f, path := readTestdata(t, "rows.good.csv")
	got, err := ReadRows(f, path)
	require.NoError(t, err)
	const t0 = 1704067200000 // 2024-01-01T00:00:00Z
	var times []int64
	for i, r := range got {
		times = append(times, r.Time)
		require.Equal(t, float64(i+1), r.Value)
		require.Equal(t, i+2, r.Line)
	}
	require.Equal(t, []int64{t0, t0 + 60000, t0 + 120000, t0 + 180500, t0 + 240000}, times)
	require.Equal(t, "2024-01-01 00:01:00", got[1].Stamp)
}

// TestReadRowsOrder checks that repeated and out-of-order timestamps are
// read, in file order, and counted by CheckOrder.
func TestReadRowsOrder(t *testing.T) {
	f, path := readTestdata(t, "rows-order.good.csv")
	got, err := ReadRows(f, path)
	require.NoError(t, err)
	const t0 = 1704067200000
	var times []int64
	for i, r := range got {
		times = append(times, r.Time)
		require.Equal(t, float64(i+1), r.Value)
		require.Equal(t, i+1, r.Line)
	}
	require.Equal(t, []int64{t0, t0 + 60000, t0 + 60000, t0 + 30000, t0 + 120000}, times)
	require.Equal(t, Disorder{Repeated: 1, RepeatedLine: 3, OutOfOrder: 1, OutOfOrderLine: 4}, CheckOrder(got))
}

func TestParseTimestamp(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  bool
	}{
		{in: "0", want: 0},
		{in: "1.2345", want: 1235},
		{in: "-1", want: -1000},
		{in: "1970-01-01T00:00:01.5Z", want: 1500},
		{in: "1970-01-01 00:00:02.25", want: 2250},
		{in: "1970-01-01T00:00:03", want: 3000},
		{in: "1e14", err: true},
		{in: "NaN", err: true},
		{in: "2024-13-01 00:00:00", err: true},
		{in: "", err: true},
	} {
		got, err := ParseTimestamp(tc.in)
		if tc.err {
			require.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}
