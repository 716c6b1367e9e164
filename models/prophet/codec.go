package prophet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/train-prometheus/train-prometheus/internal/encoding"
	"github.com/train-prometheus/train-prometheus/models"
)

// formatV2 is the first byte of the saved state. Version 1 (every
// changepoint's time and rate change, fixed-width counts) is refused: the
// series refits. The layout (floats as float64 little endian) is:
//
//	byte     version (2), mode, flags (flagCpTimes, flagLambda, flagRate)
//	float    yScale
//	varint   t0 (ms)
//	float    tScale, k, m, sigma, z
//	uvarint  rows: the history's cells minus one
//	uvarint  changepoints; their rows as uvarint increments, or with
//	         flagCpTimes their times t (floats) when they are not row/rows
//	bytes    a bitmap of the non-zero rate changes (the Laplace prior
//	         zeroes most), then those (floats)
//	float    lambda, only with flagLambda: when it is not Fit's function
//	         of the rate changes
//	float    rate, only with flagRate: when it is not the changepoint count
//	uvarint  seasonalities; each: period (ms), harmonic count, per harmonic
//	         its increment over the previous one (uvarint) and the sin and
//	         cos coefficients (floats)
//
// Restore refuses an encoding MarshalBinary would not write (so one state
// has one encoding).
const formatV2 = 2

const (
	flagCpTimes = 1 << iota
	flagLambda
	flagRate
)

// Bounds that Restore enforces, well above what Fit produces, so that a
// corrupt count cannot make it allocate much.
const (
	maxSavedChangepoints  = 1 << 16
	maxSavedSeasonalities = 16
	maxSavedHarmonic      = 1 << 10
)

var errCorrupt = errors.New("corrupt prophet state")

// cpRows returns the rows of the changepoints when every time is its row
// times 1/rows, as Fit places them.
func (f *fitted) cpRows() ([]uint64, bool) {
	if f.rows <= 0 {
		return nil, false
	}
	dt := 1 / float64(f.rows)
	out := make([]uint64, len(f.cpT))
	for j, t := range f.cpT {
		r := math.Round(t * float64(f.rows))
		if !(r >= 0 && r <= float64(f.rows)) || math.Float64bits(r*dt) != math.Float64bits(t) {
			return nil, false
		}
		out[j] = uint64(r)
	}
	return out, true
}

// MarshalBinary encodes f for models.Restorer; it never fails.
func (f *fitted) MarshalBinary() ([]byte, error) {
	rows, byRow := f.cpRows()
	for j := 1; byRow && j < len(rows); j++ {
		byRow = rows[j] >= rows[j-1]
	}
	var flags byte
	if !byRow {
		flags |= flagCpTimes
	}
	if math.Float64bits(f.lambda) != math.Float64bits(laplaceScale(f.delta)) {
		flags |= flagLambda
	}
	if math.Float64bits(f.rate) != math.Float64bits(float64(len(f.cpT))) {
		flags |= flagRate
	}
	e := encoding.Encbuf{B: make([]byte, 0, 3+8*8+3*binary.MaxVarintLen64+16*len(f.cpT)+len(f.seas)*16+20*len(f.beta))}
	e.PutByte(formatV2)
	e.PutByte(byte(f.mode))
	e.PutByte(flags)
	e.PutFloat64(f.yScale)
	e.PutVarint64(f.t0)
	for _, v := range []float64{f.tScale, f.k, f.m, f.sigma, f.z} {
		e.PutFloat64(v)
	}
	e.PutUvarint64(uint64(f.rows))
	e.PutUvarint64(uint64(len(f.cpT)))
	var prev uint64
	for j, t := range f.cpT {
		if byRow {
			e.PutUvarint64(rows[j] - prev)
			prev = rows[j]
		} else {
			e.PutFloat64(t)
		}
	}
	bitmap := e.Len()
	e.PutBytes(make([]byte, (len(f.delta)+7)/8))
	for j, d := range f.delta {
		if math.Float64bits(d) != 0 {
			e.B[bitmap+j/8] |= 1 << (j % 8)
			e.PutFloat64(d)
		}
	}
	if flags&flagLambda != 0 {
		e.PutFloat64(f.lambda)
	}
	if flags&flagRate != 0 {
		e.PutFloat64(f.rate)
	}
	e.PutUvarint64(uint64(len(f.seas)))
	beta := f.beta
	for _, s := range f.seas {
		e.PutUvarint64(uint64(s.period))
		e.PutUvarint64(uint64(len(s.harmonics)))
		prev := 0
		for _, h := range s.harmonics {
			e.PutUvarint64(uint64(h - prev))
			prev = h
			e.PutFloat64(beta[0])
			e.PutFloat64(beta[1])
			beta = beta[2:]
		}
	}
	return e.Get(), nil
}

// Restore decodes what the MarshalBinary of a fit of this package wrote;
// the history is not needed. It returns an error wrapping
// models.ErrUnknownFormat for a version it does not know, and an error for
// truncated or inconsistent data or for a fit of the other mode. It does
// not panic on any input.
func (m model) Restore(data []byte, _ models.Series) (models.Fitted, error) {
	if len(data) == 0 || data[0] != formatV2 {
		v := -1
		if len(data) > 0 {
			v = int(data[0])
		}
		return nil, fmt.Errorf("restore prophet: version %d: %w", v, models.ErrUnknownFormat)
	}
	d := encoding.Decbuf{B: data[1:]}
	f := &fitted{mode: Mode(d.Byte())}
	flags := d.Byte()
	f.yScale = finite(&d)
	f.t0 = d.Varint64()
	f.tScale, f.k, f.m = finite(&d), finite(&d), finite(&d)
	f.sigma, f.z = finite(&d), finite(&d)
	f.rows = int64(count(&d, math.MaxInt32, 0))
	if n := count(&d, maxSavedChangepoints, 1); n > 0 {
		f.cpT, f.delta = make([]float64, n), make([]float64, n)
		dt, row := 1/float64(f.rows), uint64(0)
		for j := range n {
			if flags&flagCpTimes != 0 {
				f.cpT[j] = finite(&d)
				continue
			}
			row += uint64(count(&d, math.MaxInt32, 0))
			f.cpT[j] = float64(row) * dt
		}
		bitmap := d.Bytes((n + 7) / 8)
		for j := range n {
			if j/8 < len(bitmap) && bitmap[j/8]&(1<<(j%8)) != 0 {
				f.delta[j] = finite(&d)
			}
		}
	}
	f.lambda, f.rate = laplaceScale(f.delta), float64(len(f.cpT))
	if flags&flagLambda != 0 {
		f.lambda = finite(&d)
	}
	if flags&flagRate != 0 {
		f.rate = finite(&d)
	}
	if n := count(&d, maxSavedSeasonalities, 2); n > 0 {
		f.seas = make([]seasonality, n)
		for i := range f.seas {
			s := &f.seas[i]
			s.period = int64(count(&d, math.MaxInt64, 0))
			if d.Err() == nil && s.period <= 0 {
				d.Fail(fmt.Errorf("period %d", s.period))
			}
			nh := count(&d, maxSavedHarmonic, 17)
			h := 0
			for range nh {
				inc := count(&d, maxSavedHarmonic, 0)
				if h += inc; d.Err() == nil && (inc < 1 || h > maxSavedHarmonic) {
					d.Fail(fmt.Errorf("harmonic %d", h))
				}
				s.harmonics = append(s.harmonics, h)
				f.beta = append(f.beta, finite(&d), finite(&d))
			}
		}
	}
	switch {
	case d.Err() != nil:
	case d.Len() > 0:
		d.Fail(fmt.Errorf("%d trailing bytes", d.Len()))
	case f.mode != m.popts.Mode:
		d.Fail(fmt.Errorf("mode %d, model mode %d", f.mode, m.popts.Mode))
	case !(f.yScale > 0) || !(f.tScale > 0) || !(f.sigma >= 0) || !(f.lambda >= 0) || !(f.rate >= 0) || !(f.z >= 0):
		d.Fail(fmt.Errorf("scale or band parameter out of range"))
	}
	if d.Err() == nil {
		// One state, one encoding: what this build would not write is
		// refused (a flag set without need, a padded varint).
		if again, _ := f.MarshalBinary(); !bytes.Equal(again, data) {
			d.Fail(fmt.Errorf("not the canonical encoding of its state"))
		}
	}
	if d.Err() != nil {
		return nil, fmt.Errorf("restore prophet: %w: %w", errCorrupt, d.Err())
	}
	return f, nil
}

// finite reads a float64 and fails on NaN or ±Inf: no saved value is.
func finite(d *encoding.Decbuf) float64 {
	v := d.Float64()
	if math.IsNaN(v) || math.IsInf(v, 0) {
		d.Fail(errors.New("non-finite value"))
		return 0
	}
	return v
}

// count reads a uvarint count of items of at least minBytes each,
// failing when it exceeds limit or the bytes left.
func count(d *encoding.Decbuf, limit uint64, minBytes int) int {
	n := d.Uvarint64()
	if d.Err() != nil {
		return 0
	}
	if n > limit || (minBytes > 0 && n > uint64(d.Len()/minBytes)) {
		d.Fail(fmt.Errorf("count %d", n))
		return 0
	}
	return int(n)
}
