// Package grid holds the arithmetic of the fixed time grid every layer
// shares (ring buffers, models, engine, backfill, offline tools): whole
// steps counted from the epoch, in milliseconds.
package grid

// FloorDiv divides a by b rounding towards minus infinity (Go's / rounds
// towards zero): the index of the grid cell of step b holding time a, also
// for times before the epoch. b must not be zero.
func FloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Floor returns t rounded down to a multiple of step: the start of the
// cell holding t.
func Floor(t, step int64) int64 {
	return FloorDiv(t, step) * step
}
