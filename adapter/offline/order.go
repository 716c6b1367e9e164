package offline

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// Disorder counts the rows of a timestamp,value file that are not after
// every row before them, by reason. Such rows are not an error: the file
// order is the order in which the live receiver would have received the
// samples, and Detect replays them in that order, so each of them is
// dropped, or fills an empty cell, exactly as the receiver would do (see
// storage/ring, Appending): a sample at or before the newest accepted
// timestamp only fills a cell that holds no data yet, within the window;
// otherwise it is dropped (counted as a duplicate or too old by the
// receiver).
type Disorder struct {
	// Repeated counts the rows whose timestamp an earlier row already has,
	// e.g. the repeated hour of a daylight-saving change written in local
	// time. The receiver always drops them: the earlier row's cell holds
	// data. RepeatedLine is the line of the first one.
	Repeated, RepeatedLine int
	// OutOfOrder counts the other rows before the newest timestamp of the
	// rows before them: late samples. Each fills its cell if the cell is
	// still empty and within the window, and is dropped otherwise.
	// OutOfOrderLine is the line of the first one.
	OutOfOrder, OutOfOrderLine int
}

// CheckOrder returns the Disorder of rows, taken in their order. It is
// zero when the timestamps increase strictly.
func CheckOrder(rows []Row) Disorder {
	var d Disorder
	if isStrictlyIncreasing(rows) {
		return d
	}
	// The timestamps more than one row has; a row is repeated when an
	// earlier row has its timestamp. Sorting a copy keeps this at 8 bytes
	// per row, plus a map entry per repeated timestamp.
	times := make([]int64, len(rows))
	for i, r := range rows {
		times[i] = r.Time
	}
	slices.Sort(times)
	seen := map[int64]bool{}
	for i := 1; i < len(times); i++ {
		if times[i] == times[i-1] {
			seen[times[i]] = false
		}
	}
	newest := int64(math.MinInt64)
	for _, r := range rows {
		repeated, shared := seen[r.Time]
		switch {
		case repeated:
			d.Repeated++
			if d.RepeatedLine == 0 {
				d.RepeatedLine = r.Line
			}
		case r.Time < newest:
			d.OutOfOrder++
			if d.OutOfOrderLine == 0 {
				d.OutOfOrderLine = r.Line
			}
		}
		if shared {
			seen[r.Time] = true
		}
		newest = max(newest, r.Time)
	}
	return d
}

// Rows returns how many rows d counts.
func (d Disorder) Rows() int { return d.Repeated + d.OutOfOrder }

// String describes d for a warning, e.g. `24 rows with a repeated timestamp
// (first on line 1234) and 3 out-of-order rows (first on line 99)`; it is
// empty when d counts no row.
func (d Disorder) String() string {
	var parts []string
	if d.Repeated > 0 {
		parts = append(parts, fmt.Sprintf("%s with a repeated timestamp (%s)", plural(d.Repeated, "row"), firstOn(d.Repeated, d.RepeatedLine)))
	}
	if d.OutOfOrder > 0 {
		parts = append(parts, fmt.Sprintf("%s (%s)", plural(d.OutOfOrder, "out-of-order row"), firstOn(d.OutOfOrder, d.OutOfOrderLine)))
	}
	return strings.Join(parts, " and ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func firstOn(n, line int) string {
	if n == 1 {
		return fmt.Sprintf("line %d", line)
	}
	return fmt.Sprintf("first on line %d", line)
}

func isStrictlyIncreasing(rows []Row) bool {
	for i := 1; i < len(rows); i++ {
		if rows[i].Time <= rows[i-1].Time {
			return false
		}
	}
	return true
}

// newestTime returns the latest timestamp of rows, which must not be empty:
// the replay's clock runs until its cell, whatever the order of the rows.
func newestTime(rows []Row) int64 {
	return slices.MaxFunc(rows, func(a, b Row) int { return cmp.Compare(a.Time, b.Time) }).Time
}

// dropRefused returns nil for the errors with which ring.Series.Append
// refuses a sample that the live receiver drops and counts (a duplicate or
// out-of-order sample for a cell holding data, or a sample older than the
// window), and err otherwise. Only rows that CheckOrder counts can be
// refused so.
func dropRefused(err error) error {
	if errors.Is(err, ring.ErrOutOfOrder) || errors.Is(err, ring.ErrTooOld) {
		return nil
	}
	return err
}
