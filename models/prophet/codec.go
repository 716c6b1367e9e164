package prophet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/train-prometheus/train-prometheus/models"
)

// formatV1 is the first byte of the saved state. The layout (little
// endian) is: version, mode, then float64 yScale, int64 t0, float64
// tScale, k, m, sigma, lambda, rate, z; uint32 changepoints, then a
// (t, δ) float64 pair each; uint32 seasonalities, then for each an int64
// period (ms), a uint32 harmonic count and per harmonic a uint32 harmonic
// number and the sin and cos coefficients (float64).
const formatV1 = 1

// Bounds that Restore enforces, well above what Fit produces, so that a
// corrupt count cannot make it allocate much.
const (
	maxSavedChangepoints  = 1 << 16
	maxSavedSeasonalities = 16
	maxSavedHarmonic      = 1 << 10
)

var errCorrupt = errors.New("corrupt prophet state")

// MarshalBinary encodes f for models.Restorer; it never fails.
func (f *fitted) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 2+8*11+16*len(f.cpT)+4+len(f.seas)*16+20*len(f.beta))
	b = append(b, formatV1, byte(f.mode))
	putF := func(v float64) { b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v)) }
	putF(f.yScale)
	b = binary.LittleEndian.AppendUint64(b, uint64(f.t0))
	for _, v := range []float64{f.tScale, f.k, f.m, f.sigma, f.lambda, f.rate, f.z} {
		putF(v)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.cpT)))
	for j, t := range f.cpT {
		putF(t)
		putF(f.delta[j])
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.seas)))
	beta := f.beta
	for _, s := range f.seas {
		b = binary.LittleEndian.AppendUint64(b, uint64(s.period))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s.harmonics)))
		for _, h := range s.harmonics {
			b = binary.LittleEndian.AppendUint32(b, uint32(h))
			putF(beta[0])
			putF(beta[1])
			beta = beta[2:]
		}
	}
	return b, nil
}

// Restore decodes what the MarshalBinary of a fit of this package wrote.
// It returns an error wrapping models.ErrUnknownFormat for a version it
// does not know, and an error for truncated or inconsistent data or for a
// fit of the other mode. It does not panic on any input.
func (m model) Restore(data []byte, _ models.Series) (models.Fitted, error) {
	if len(data) == 0 || data[0] != formatV1 {
		v := -1
		if len(data) > 0 {
			v = int(data[0])
		}
		return nil, fmt.Errorf("restore prophet: version %d: %w", v, models.ErrUnknownFormat)
	}
	d := decoder{b: data[1:]}
	f := &fitted{mode: Mode(d.u8())}
	f.yScale = d.float()
	f.t0 = int64(d.uint64())
	f.tScale, f.k, f.m = d.float(), d.float(), d.float()
	f.sigma, f.lambda, f.rate, f.z = d.float(), d.float(), d.float(), d.float()
	if n := d.count(maxSavedChangepoints, 16); n > 0 {
		f.cpT, f.delta = make([]float64, n), make([]float64, n)
		for j := range n {
			f.cpT[j], f.delta[j] = d.float(), d.float()
		}
	}
	if n := d.count(maxSavedSeasonalities, 12); n > 0 {
		f.seas = make([]seasonality, n)
		for i := range f.seas {
			s := &f.seas[i]
			s.period = int64(d.uint64())
			if s.period <= 0 {
				d.fail("period %d", s.period)
			}
			nh := d.count(maxSavedHarmonic, 20)
			for range nh {
				h := int(d.uint32())
				if h < 1 || h > maxSavedHarmonic || (len(s.harmonics) > 0 && h <= s.harmonics[len(s.harmonics)-1]) {
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

func (d *decoder) uint32() uint32 {
	if b := d.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
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

// count reads a uint32 count of items of at least minBytes each, failing
// when it exceeds limit or the bytes left.
func (d *decoder) count(limit, minBytes int) int {
	n := int(d.uint32())
	if d.err == nil && (n > limit || n*minBytes > len(d.b)) {
		d.fail("count %d", n)
		return 0
	}
	return n
}
