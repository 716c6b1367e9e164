package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/models/registry"
)

// runTool runs the binary's main in-process and returns its exit code and
// output.
func runTool(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runMain(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return recs
}

// writeSeriesFile writes timestamp,value rows one minute apart in the
// three accepted timestamp formats: an hourly cycle of amplitude 5 with
// ±0.5 of uniform noise, plus 40 on the burst rows from spike on.
func writeSeriesFile(t *testing.T, path string, n, spike int, edit func(i int, v float64) float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	const t0 = 1704067200 // 2024-01-01T00:00:00Z
	for i := range n {
		v := 10 + 5*math.Sin(2*math.Pi*float64(i)/60) + rng.Float64() - 0.5
		if spike >= 0 && i >= spike && i < spike+burst {
			v += 40
		}
		if edit != nil {
			v = edit(i, v)
		}
		ts := int64(t0 + 60*i)
		var stamp string
		switch i % 3 {
		case 0:
			stamp = strconv.FormatInt(ts, 10)
		case 1:
			stamp = time0(ts).Format("2006-01-02T15:04:05Z07:00")
		case 2:
			stamp = time0(ts).Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(&b, "%s,%.4f\n", stamp, v)
	}
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
}

// burst is how many consecutive rows a test anomaly lasts.
const burst = 5

// TestOfflineDetect runs detect end to end: the injected burst is flagged,
// clean rows away from the warm-up are not, and the output is causal: a
// change to a later row changes no earlier output line.
func TestOfflineDetect(t *testing.T) {
	dir := t.TempDir()
	const n, spike, changed = 720, 500, 600
	in, out := filepath.Join(dir, "in.csv"), filepath.Join(dir, "out.csv")
	writeSeriesFile(t, in, n, spike, nil)
	code, _, stderr := runTool(t, "detect", "--input", in, "--output", out, "--model", "fourier")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stderr, "720 rows, step 1m, model fourier")
	require.NotContains(t, stderr, "\r", "no progress bar when stderr is not a terminal")
	recs := readCSV(t, out)
	require.Len(t, recs, n+1)
	require.Equal(t, []string{"timestamp", "value", "yhat", "yhat_lower", "yhat_upper", "anomaly_score", "anomaly"}, recs[0])
	rows := recs[1:]
	require.Equal(t, "2024-01-01T00:01:00Z", rows[1][0], "timestamps are echoed as written")
	require.Equal(t, []string{"", "", "", "", ""}, rows[0][2:], "no model before min_history")
	require.Equal(t, "1", rows[spike][6], "the burst flags at its first row: %v", rows[spike])
	for i := 180; i < n; i++ {
		if i < spike || i >= spike+burst+6 {
			require.Equal(t, "0", rows[i][6], "row %d: %v", i, rows[i])
		}
	}

	// Causality: make a later row absurd; every earlier line stays the same.
	in2, out2 := filepath.Join(dir, "in2.csv"), filepath.Join(dir, "out2.csv")
	writeSeriesFile(t, in2, n, spike, func(i int, v float64) float64 {
		if i >= changed && i < changed+burst {
			return v + 1000
		}
		return v
	})
	code, _, stderr = runTool(t, "detect", "--input", in2, "--output", out2, "--model", "fourier")
	require.Equal(t, 0, code, stderr)
	rows2 := readCSV(t, out2)[1:]
	require.Equal(t, rows[:changed], rows2[:changed])
	require.Equal(t, "1", rows2[changed][6], "the changed rows are flagged")
	require.NotEqual(t, rows[changed+30], rows2[changed+30], "later forecasts saw the change")
}

// TestOfflineDetectDisorder runs detect on a file written in local time
// across the end of daylight-saving time (an hour of rows repeated) with a
// late row: the run succeeds, every row gets an output line, and one
// warning line counts the rows the receiver's rules dropped or merged. The
// same file without them gives the same output for the other rows and no
// warning.
func TestOfflineDetectDisorder(t *testing.T) {
	dir := t.TempDir()
	const in = "../../adapter/offline/testdata/rows-dst.good.csv"
	out := filepath.Join(dir, "out.csv")
	code, _, stderr := runTool(t, "detect", "--input", in, "--output", out, "--model", "seasonal_naive")
	require.Equal(t, 0, code, stderr)
	var warnings []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "warning:") {
			warnings = append(warnings, l)
		}
	}
	require.Equal(t, []string{"warning: " + in + ": 4 rows with a repeated timestamp (first on line 110) and " +
		"1 out-of-order row (line 121) were dropped, or only filled empty cells, as the live receiver does"}, warnings)
	require.Contains(t, stderr, "125 rows, step 15m, model seasonal_naive")
	got := readCSV(t, out)
	require.Len(t, got, 1+125)

	// Without the repeated and late rows (lines 110-113 and 121 of the
	// file, rows 109-112 and 120 of the output after its header).
	data, err := os.ReadFile(in)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	clean := filepath.Join(dir, "clean.csv")
	require.NoError(t, os.WriteFile(clean, []byte(strings.Join(slices.Concat(lines[:109], lines[113:120], lines[121:]), "")), 0o600))
	out2 := filepath.Join(dir, "out2.csv")
	code, _, stderr = runTool(t, "detect", "--input", clean, "--output", out2, "--model", "seasonal_naive")
	require.Equal(t, 0, code, stderr)
	require.NotContains(t, stderr, "warning")
	require.Equal(t, readCSV(t, out2), slices.Concat(got[:109], got[113:120], got[121:]))
}

// TestOfflineForecast runs forecast end to end on a wide file and checks
// the layout, the band and the accuracy on a known pattern.
func TestOfflineForecast(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.csv"), filepath.Join(dir, "out.csv")
	var b strings.Builder
	b.WriteString(`"V1","V2","V3"` + "\n")
	for _, id := range []string{"s1", "s2", "s3"} {
		b.WriteString(id)
		for i := range 24 * 14 {
			fmt.Fprintf(&b, ",%g", 100+10*math.Sin(2*math.Pi*float64(i)/24))
		}
		b.WriteString(",,\n") // empty cells at the end are allowed
	}
	require.NoError(t, os.WriteFile(in, []byte(b.String()), 0o600))

	const h = 48
	for _, model := range registry.Names() {
		t.Run(model, func(t *testing.T) {
			code, _, stderr := runTool(t, "forecast", "--input", in, "--horizon", strconv.Itoa(h), "--step", "1h",
				"--model", model, "--bounds", "--output", out)
			require.Equal(t, 0, code, stderr)
			recs := readCSV(t, out)
			require.Len(t, recs, 4)
			require.Len(t, recs[0], 1+3*h)
			require.Equal(t, "F1", recs[0][1])
			require.Equal(t, "L1", recs[0][1+h])
			require.Equal(t, "U1", recs[0][1+2*h])
			for r, id := range []string{"s1", "s2", "s3"} {
				rec := recs[r+1]
				require.Equal(t, id, rec[0])
				var mae float64
				for k := range h {
					f := parse(t, rec[1+k])
					require.LessOrEqual(t, parse(t, rec[1+h+k]), f)
					require.GreaterOrEqual(t, parse(t, rec[1+2*h+k]), f)
					mae += math.Abs(f-(100+10*math.Sin(2*math.Pi*float64(24*14+k)/24))) / h
				}
				// The bar of TestEndToEnd: under 20% of the amplitude.
				require.Less(t, mae, 2.0, "%s: mean absolute error on a clean daily cycle of amplitude 10", id)
			}
		})
	}
}

func parse(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return v
}

// TestOfflineEvaluate runs evaluate on five M4 hourly series and checks the
// table: every registered model and Naive2, Naive2's OWA exactly 1.
func TestOfflineEvaluate(t *testing.T) {
	code, stdout, stderr := runTool(t, "evaluate", "--input", "../../adapter/offline/testdata/m4-hourly-excerpt.csv",
		"--holdout", "48", "--period", "24")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.Len(t, lines, 2+len(registry.Names())+1)
	for i, m := range append(registry.Names(), "naive2") {
		cells := strings.Split(lines[2+i], "|")
		require.Equal(t, m, strings.TrimSpace(cells[1]))
		for _, c := range cells[2:5] {
			v := parse(t, strings.TrimSpace(c))
			require.False(t, math.IsNaN(v) || math.IsInf(v, 0))
		}
		if m == "naive2" {
			require.Equal(t, "1.000", strings.TrimSpace(cells[4]))
		}
	}
}

// TestOfflineBadInput checks exit code 1 and an error naming the file,
// line and column.
func TestOfflineBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "input.csv")
	require.NoError(t, os.WriteFile(bad, []byte("timestamp,value\n0,1\n60,abc\n"), 0o600))
	code, _, stderr := runTool(t, "detect", "--input", bad, "--output", filepath.Join(dir, "out.csv"))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, bad+`:3:2: value "abc" is not a number`)
	require.NoFileExists(t, filepath.Join(dir, "out.csv"))

	wide := filepath.Join(dir, "wide.csv")
	require.NoError(t, os.WriteFile(wide, []byte("a,1,2,x\n"), 0o600))
	code, _, stderr = runTool(t, "forecast", "--input", wide, "--horizon", "2", "--output", filepath.Join(dir, "f.csv"))
	require.Equal(t, 1, code)
	require.Contains(t, stderr, wide+`:1:4: value "x" is not a number`)

	code, _, stderr = runTool(t, "forecast", "--input", filepath.Join(dir, "missing.csv"), "--horizon", "2", "--output", "-")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "no such file")

	code, _, stderr = runTool(t, "evaluate", "--input", "../../adapter/offline/testdata/m4-hourly-excerpt.csv", "--models", "nope")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `unknown model "nope"`)

	code, _, stderr = runTool(t, "detect", "--input", bad, "--output", "-", "--step", "soon")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `step "soon" is not a positive duration`)
}

func time0(unix int64) time.Time { return time.Unix(unix, 0).UTC() }

// TestOfflineTransform: detect and forecast take --transform rate and
// model a counter's rate per second; other values are refused.
func TestOfflineTransform(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "counter.csv")
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	c := 0.0
	for i := range 240 {
		c += 60 * (10 + 5*math.Sin(2*math.Pi*float64(i)/60))
		fmt.Fprintf(&b, "%d,%.0f\n", 1704067200+60*i, c)
	}
	require.NoError(t, os.WriteFile(in, []byte(b.String()), 0o600))
	out := filepath.Join(dir, "out.csv")
	code, _, stderr := runTool(t, "detect", "--input", in, "--output", out, "--transform", "rate", "--model", "fourier")
	require.Equal(t, 0, code, stderr)
	recs := readCSV(t, out)
	last := recs[len(recs)-1]
	yhat, err := strconv.ParseFloat(last[2], 64)
	require.NoError(t, err, last)
	require.InDelta(t, 10+5*math.Sin(2*math.Pi*239/60), yhat, 1, "yhat is the rate per second: %v", last)

	code, _, stderr = runTool(t, "detect", "--input", in, "--output", out, "--transform", "auto")
	require.NotZero(t, code)
	require.Contains(t, stderr, "must be one of none,rate")
	code, _, stderr = runTool(t, "forecast", "--input", in, "--output", "-", "--horizon", "2", "--transform", "delta")
	require.NotZero(t, code)
	require.Contains(t, stderr, "must be one of none,rate")
}
