package ring

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrInvalidOptions is returned when Options cannot describe a ring buffer.
var ErrInvalidOptions = errors.New("invalid ring options")

// maxCapacity bounds the number of cells of one series (32 MiB of values),
// the same bound the configuration applies, so that options that bypassed it
// cannot allocate the whole memory at once.
const maxCapacity = 1 << 22

// Options describe the grid and the history kept for one series.
type Options struct {
	// Step is the grid step: positive and a whole number of milliseconds.
	Step time.Duration
	// Window is the history kept. The ring has Window/Step cells (rounded
	// down), at least one.
	Window time.Duration
	// Aggregate tells how samples within one step are combined.
	Aggregate Aggregation
	// Group is an opaque tag of the caller, e.g. the index of the forecast
	// entry that selected the series. The ring does not interpret it.
	Group int
}

// Validate returns an error wrapping ErrInvalidOptions when o cannot
// describe a ring buffer.
func (o Options) Validate() error {
	switch {
	case o.Step <= 0:
		return fmt.Errorf("%w: step %s must be positive", ErrInvalidOptions, o.Step)
	case o.Step%time.Millisecond != 0:
		return fmt.Errorf("%w: step %s must be a whole number of milliseconds", ErrInvalidOptions, o.Step)
	case o.Window < o.Step:
		return fmt.Errorf("%w: window %s must be at least step %s", ErrInvalidOptions, o.Window, o.Step)
	case o.Window/o.Step > maxCapacity:
		return fmt.Errorf("%w: window %s / step %s exceeds %d cells", ErrInvalidOptions, o.Window, o.Step, maxCapacity)
	case !o.Aggregate.valid():
		return fmt.Errorf("%w: %w %d", ErrInvalidOptions, ErrUnknownAggregation, int(o.Aggregate))
	}
	return nil
}

// Capacity returns the number of cells of the ring, Window/Step. It is only
// meaningful for valid options.
func (o Options) Capacity() int {
	if o.Step <= 0 {
		return 0
	}
	return int(o.Window / o.Step)
}

// sameGrid reports whether a and b lay out and aggregate the buffer in the
// same way, so that data kept under a stays valid under b.
func (o Options) sameGrid(b Options) bool {
	return o.Step == b.Step && o.Window == b.Window && o.Aggregate == b.Aggregate
}

// Aggregation tells how the samples that fall into one grid step are combined
// into the value of its cell.
type Aggregation int

// The aggregations of samples within one step.
const (
	// AggLast keeps the newest sample of the step.
	AggLast Aggregation = iota
	// AggMean keeps the arithmetic mean of the samples of the step.
	AggMean
	// AggMin keeps the smallest sample of the step.
	AggMin
	// AggMax keeps the largest sample of the step.
	AggMax
	// AggSum keeps the sum of the samples of the step.
	AggSum
)

// ErrUnknownAggregation is returned when an aggregation name or value is not
// one of the known aggregations.
var ErrUnknownAggregation = errors.New("unknown aggregation")

var aggregationNames = [...]string{
	AggLast: "last",
	AggMean: "mean",
	AggMin:  "min",
	AggMax:  "max",
	AggSum:  "sum",
}

// ParseAggregation returns the aggregation named s: "last", "mean", "min",
// "max" or "sum".
func ParseAggregation(s string) (Aggregation, error) {
	for a, name := range aggregationNames {
		if s == name {
			return Aggregation(a), nil
		}
	}
	return 0, fmt.Errorf("parse aggregation %q: %w (want last, mean, min, max or sum)", s, ErrUnknownAggregation)
}

// String returns the name of the aggregation as accepted by ParseAggregation.
func (a Aggregation) String() string {
	if a.valid() {
		return aggregationNames[a]
	}
	return "Aggregation(" + strconv.Itoa(int(a)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (a Aggregation) MarshalText() ([]byte, error) {
	if !a.valid() {
		return nil, fmt.Errorf("marshal aggregation %d: %w", int(a), ErrUnknownAggregation)
	}
	return []byte(aggregationNames[a]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseAggregation.
func (a *Aggregation) UnmarshalText(text []byte) error {
	v, err := ParseAggregation(string(text))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

func (a Aggregation) valid() bool {
	return a >= 0 && int(a) < len(aggregationNames)
}
