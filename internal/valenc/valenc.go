// Package valenc compresses a sequence of float64 values on a regular grid
// (timestamps are not stored) so that every bit pattern round-trips exactly.
// Each sequence is stored in the smaller of two schemes:
//
//   - decimal: when every value is a decimal with at most maxDecimals
//     digits after the point (counters, integer gauges, values rounded by
//     the exporter), the values become integers, and their deltas or
//     deltas of deltas are written with a variable-length bit code in which
//     a repeat costs one bit, as VictoriaMetrics does. NaN gaps are listed
//     apart.
//   - XOR: otherwise, the Gorilla XOR scheme Prometheus' chunks use, in
//     which a repeated value costs one bit and others the bits that differ.
package valenc

import (
	"errors"
	"math"
)

// ErrCorrupt is returned when encoded data is truncated or malformed.
var ErrCorrupt = errors.New("encoded values truncated or corrupt")

// The first byte of an encoding names its scheme.
const (
	schemeXOR   = 0
	schemeDelta = 1 // decimal, deltas
	schemeDoD   = 2 // decimal, deltas of deltas
)

// Append appends the encoding of vals to dst and returns it. The encoding
// does not record the number of values; Decode must be told.
func Append(dst []byte, vals []float64) []byte {
	if len(vals) == 0 {
		return append(dst, schemeXOR)
	}
	if out, ok := appendDecimal(dst, vals); ok {
		return out
	}
	return appendXOR(append(dst, schemeXOR), vals)
}

// Decode decodes n values from src into dst (reused when large enough) and
// returns them with the number of bytes of src consumed. It returns an
// error wrapping ErrCorrupt for data Append cannot have written, or that
// ends early.
func Decode(dst []float64, src []byte, n int) ([]float64, int, error) {
	if len(src) == 0 {
		return nil, 0, ErrCorrupt
	}
	switch src[0] {
	case schemeXOR:
		vals, used, err := decodeXOR(dst, src[1:], n)
		return vals, used + 1, err
	case schemeDelta, schemeDoD:
		vals, used, err := decodeDecimal(dst, src[1:], n, src[0] == schemeDoD)
		return vals, used + 1, err
	}
	return nil, 0, ErrCorrupt
}

// canonicalNaN is the NaN the decimal scheme restores gaps as; other NaN
// payloads go through the XOR scheme.
var canonicalNaN = math.Float64bits(math.NaN())
