package prophet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

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
	b := make([]byte, 0, 3+8*8+3*binary.MaxVarintLen64+16*len(f.cpT)+len(f.seas)*16+20*len(f.beta))
	b = append(b, formatV2, byte(f.mode), flags)
	putF := func(v float64) { b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v)) }
	putF(f.yScale)
	b = binary.AppendVarint(b, f.t0)
	for _, v := range []float64{f.tScale, f.k, f.m, f.sigma, f.z} {
		putF(v)
	}
	b = binary.AppendUvarint(b, uint64(f.rows))
	b = binary.AppendUvarint(b, uint64(len(f.cpT)))
	var prev uint64
	for j, t := range f.cpT {
		if byRow {
			b = binary.AppendUvarint(b, rows[j]-prev)
			prev = rows[j]
		} else {
			putF(t)
		}
	}
	bitmap := len(b)
	b = append(b, make([]byte, (len(f.delta)+7)/8)...)
	for j, d := range f.delta {
		if math.Float64bits(d) != 0 {
			b[bitmap+j/8] |= 1 << (j % 8)
			putF(d)
		}
	}
	if flags&flagLambda != 0 {
		putF(f.lambda)
	}
	if flags&flagRate != 0 {
		putF(f.rate)
	}
	b = binary.AppendUvarint(b, uint64(len(f.seas)))
	beta := f.beta
	for _, s := range f.seas {
		b = binary.AppendUvarint(b, uint64(s.period))
		b = binary.AppendUvarint(b, uint64(len(s.harmonics)))
		prev := 0
		for _, h := range s.harmonics {
			b = binary.AppendUvarint(b, uint64(h-prev))
			prev = h
			putF(beta[0])
			putF(beta[1])
			beta = beta[2:]
		}
	}
	return b, nil
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
	d := decoder{b: data[1:]}
	f := &fitted{mode: Mode(d.u8())}
	flags := d.u8()
	f.yScale = d.float()
	f.t0 = d.varint()
	f.tScale, f.k, f.m = d.float(), d.float(), d.float()
	f.sigma, f.z = d.float(), d.float()
	f.rows = int64(d.count(math.MaxInt32, 0))
	if n := d.count(maxSavedChangepoints, 1); n > 0 {
		f.cpT, f.delta = make([]float64, n), make([]float64, n)
		dt, row := 1/float64(f.rows), uint64(0)
		for j := range n {
			if flags&flagCpTimes != 0 {
				f.cpT[j] = d.float()
				continue
			}
			row += uint64(d.count(math.MaxInt32, 0))
			f.cpT[j] = float64(row) * dt
		}
		bitmap := d.take((n + 7) / 8)
		for j := range n {
			if j/8 < len(bitmap) && bitmap[j/8]&(1<<(j%8)) != 0 {
				f.delta[j] = d.float()
			}
		}
	}
	f.lambda, f.rate = laplaceScale(f.delta), float64(len(f.cpT))
	if flags&flagLambda != 0 {
		f.lambda = d.float()
	}
	if flags&flagRate != 0 {
		f.rate = d.float()
	}
	if n := d.count(maxSavedSeasonalities, 2); n > 0 {
		f.seas = make([]seasonality, n)
		for i := range f.seas {
			s := &f.seas[i]
			s.period = int64(d.count(math.MaxInt64, 0))
			if d.err == nil && s.period <= 0 {
				d.fail("period %d", s.period)
			}
			nh := d.count(maxSavedHarmonic, 17)
			h := 0
			for range nh {
				inc := d.count(maxSavedHarmonic, 0)
				if h += inc; d.err == nil && (inc < 1 || h > maxSavedHarmonic) {
					d.fail("harmonic %d", h)
				}
				s.harmonics = append(s.harmonics, h)
				f.beta = append(f.beta, d.float(), d.float())
			}
		}
	}
	switch {
	case d.err != nil:
	case len(d.b) > 0:
		d.fail("%d trailing bytes", len(d.b))
	case f.mode != m.popts.Mode:
		d.fail("mode %d, model mode %d", f.mode, m.popts.Mode)
	case !(f.yScale > 0) || !(f.tScale > 0) || !(f.sigma >= 0) || !(f.lambda >= 0) || !(f.rate >= 0) || !(f.z >= 0):
		d.fail("scale or band parameter out of range")
	}
	if d.err == nil {
		// One state, one encoding: what this build would not write is
		// refused (a flag set without need, a padded varint).
		if again, _ := f.MarshalBinary(); !bytes.Equal(again, data) {
			d.fail("not the canonical encoding of its state")
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("restore prophet: %w", d.err)
	}
	return f, nil
}

// decoder reads little-endian fields, remembering the first error; after
// an error every read returns zero.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), errCorrupt)
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.fail("truncated: need %d bytes, have %d", n, len(d.b))
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) u8() byte {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// float reads a float64 and fails on NaN or ±Inf: no saved value is.
func (d *decoder) float() float64 {
	v := math.Float64frombits(d.uint64())
	if math.IsNaN(v) || math.IsInf(v, 0) {
		d.fail("non-finite value")
		return 0
	}
	return v
}

// count reads a uvarint count of items of at least minBytes each,
// failing when it exceeds limit or the bytes left.
func (d *decoder) count(limit uint64, minBytes int) int {
	if d.err != nil {
		return 0
	}
	n, k := binary.Uvarint(d.b)
	if k <= 0 {
		d.fail("truncated count")
		return 0
	}
	d.b = d.b[k:]
	if n > limit || (minBytes > 0 && n > uint64(len(d.b)/minBytes)) {
		d.fail("count %d", n)
		return 0
	}
	return int(n)
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, k := binary.Varint(d.b)
	if k <= 0 {
		d.fail("truncated number")
		return 0
	}
	d.b = d.b[k:]
	return v
}
