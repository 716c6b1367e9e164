package offline

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/train-prometheus/train-prometheus/internal/grid"
)

func TestCheckOrder(t *testing.T) {
	rowsAt := func(secs ...int64) []Row {
		rows := make([]Row, len(secs))
		for i, s := range secs {
			rows[i] = Row{Time: s * 1000, Line: i + 1}
		}
		return rows
	}
	for _, tc := range []struct {
		name string
		rows []Row
		want Disorder
	}{
		{"none", nil, Disorder{}},
		{"increasing", rowsAt(0, 60, 61, 200), Disorder{}},
		{"repeated", rowsAt(0, 60, 60, 120), Disorder{Repeated: 1, RepeatedLine: 3}},
		{"late", rowsAt(0, 60, 30, 120), Disorder{OutOfOrder: 1, OutOfOrderLine: 3}},
		// A late row's timestamp repeated is a repeat, not another late row.
		{"late repeated", rowsAt(0, 60, 30, 30, 120, 10), Disorder{Repeated: 1, RepeatedLine: 4, OutOfOrder: 2, OutOfOrderLine: 3}},
		// The repeat of a row that advanced the time after a late row.
		{"first row late", rowsAt(60, 0, 60, 0), Disorder{Repeated: 2, RepeatedLine: 3, OutOfOrder: 1, OutOfOrderLine: 2}},
		// Local time around a daylight-saving change: the hour repeats.
		{"repeated hour", rowsAt(0, 1800, 3600, 5400, 3600, 5400, 7200), Disorder{Repeated: 2, RepeatedLine: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, CheckOrder(tc.rows))
		})
	}
}

func TestDisorderString(t *testing.T) {
	require.Empty(t, Disorder{}.String())
	require.Equal(t, "1 row with a repeated timestamp (line 7)", Disorder{Repeated: 1, RepeatedLine: 7}.String())
	require.Equal(t, "24 rows with a repeated timestamp (first on line 1234) and 3 out-of-order rows (first on line 99)",
		Disorder{Repeated: 24, RepeatedLine: 1234, OutOfOrder: 3, OutOfOrderLine: 99}.String())
	require.Equal(t, "1 out-of-order row (line 5)", Disorder{OutOfOrder: 1, OutOfOrderLine: 5}.String())
}

// TestInferStepDisorder checks that repeated and out-of-order rows do not
// shrink the inferred step: only intervals that advance the time count.
func TestInferStepDisorder(t *testing.T) {
	var rows []Row
	for _, s := range []int64{0, 0, 0, 60, 60, 60, 120, 30, 120, 180, 240} {
		rows = append(rows, Row{Time: s * 1000})
	}
	step, err := InferStep(rows)
	require.NoError(t, err)
	require.Equal(t, time.Minute, step)
	_, err = InferStep([]Row{{Time: 5}, {Time: 5}, {Time: 1}})
	require.ErrorContains(t, err, "distinct timestamps")
}

// output is what Detect wrote for a row, without the row itself.
func detectionLine(d Detection) string {
	d.Row = Row{}
	return fmt.Sprintf("%+v", d)
}

// TestDetectRepeatedDSTHour replays a file written in local time across the
// end of daylight-saving time (02:00-02:45 appear twice) with a late row
// (04:10, value 999, after 04:30). The receiver keeps the first row of each
// timestamp and drops the late row, whose cell holds data: the output must
// be that of the file without those five rows, and each dropped row gets
// the output of its cell.
func TestDetectRepeatedDSTHour(t *testing.T) {
	f, path := readTestdata(t, "rows-dst.good.csv")
	rows, err := ReadRows(f, path)
	require.NoError(t, err)
	require.Len(t, rows, 125)
	require.Equal(t, Disorder{Repeated: 4, RepeatedLine: 110, OutOfOrder: 1, OutOfOrderLine: 121}, CheckOrder(rows))

	dropped := []int{110, 111, 112, 113, 121}
	var clean []Row
	for _, r := range rows {
		if !slices.Contains(dropped, r.Line) {
			clean = append(clean, r)
		}
	}
	require.Equal(t, Disorder{}, CheckOrder(clean))

	opts := DetectOptions{Model: "seasonal_naive", Threshold: 3}
	got, step, err := Detect(context.Background(), rows, opts)
	require.NoError(t, err)
	require.Equal(t, 15*time.Minute, step)
	want, step, err := Detect(context.Background(), clean, opts)
	require.NoError(t, err)
	require.Equal(t, 15*time.Minute, step)
	require.Len(t, got, len(rows))

	byCell := map[int64]string{}
	forecasts := 0
	for _, d := range want {
		byCell[grid.FloorDiv(d.Time, step.Milliseconds())] = detectionLine(d)
		if !math.IsNaN(d.Point.Yhat) {
			forecasts++
		}
	}
	require.Greater(t, forecasts, 100, "the models fitted")
	j := 0
	for i, d := range got {
		require.Equal(t, rows[i], d.Row, "each row is echoed")
		require.Equal(t, byCell[grid.FloorDiv(d.Time, step.Milliseconds())], detectionLine(d), "line %d: the output of its cell", d.Line)
		if !slices.Contains(dropped, d.Line) {
			require.Equal(t, detectionLine(want[j]), detectionLine(d), "line %d", d.Line)
			j++
		}
	}
	require.Equal(t, len(want), j)
}

// TestDetectLateRows checks rows that arrive late in file order: one whose
// cell is still empty fills it when it arrives, after the cell was (not)
// scored, so only later fits see it; one older than the window is dropped.
func TestDetectLateRows(t *testing.T) {
	const late, arrival = 200, 230
	base := syntheticRows(300, 0, -1)
	var without, rows []Row
	for i, r := range base {
		if i != late {
			without = append(without, r)
			rows = append(rows, r)
		}
		if i == arrival {
			r := base[late]
			r.Value += 1000
			rows = append(rows, r)
		}
	}
	rows = append(rows, Row{Time: -24 * 3600 * 1000, Value: 1, Line: 999}) // a day before the first row
	require.Equal(t, Disorder{OutOfOrder: 2, OutOfOrderLine: late + 1, Repeated: 0}, CheckOrder(rows))

	opts := DetectOptions{Model: "seasonal_naive", Step: time.Minute, Window: 2 * time.Hour}
	got, _, err := Detect(context.Background(), rows, opts)
	require.NoError(t, err)
	want, _, err := Detect(context.Background(), without, opts)
	require.NoError(t, err)
	require.Len(t, got, len(rows))

	// Until the late row arrives, the replay is that of the file without it.
	for i := range arrival {
		require.Equal(t, detectionLine(want[i]), detectionLine(got[i]), "row %d", i)
	}
	d := got[arrival]
	require.Equal(t, base[late].Time, d.Time)
	require.False(t, math.IsNaN(d.Point.Yhat), "its cell was forecast on time")
	require.True(t, math.IsNaN(d.Score), "its cell was empty when it closed")
	// Later fits saw it: some later forecast differs.
	differs := false
	for i := arrival + 1; i < len(without); i++ {
		differs = differs || detectionLine(want[i]) != detectionLine(got[i+1])
	}
	require.True(t, differs, "the late row filled its cell")
	old := got[len(got)-1]
	require.True(t, math.IsNaN(old.Point.Yhat) && math.IsNaN(old.Score), "%+v", old)
}
