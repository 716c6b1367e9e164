package holtwinters

import (
	"errors"
	"fmt"

	"github.com/train-prometheus/train-prometheus/internal/encoding"
	"github.com/train-prometheus/train-prometheus/models"
)

// formatV1 is the first byte of MarshalBinary's encoding.
//
// Layout (little endian): version byte; start, step, n (int64); trend kind
// byte (0 none, 1 additive, 2 damped); period (uint32); the chosen params,
// then each trend kind's params (α, β, γ, φ each); level, trend, σ², z;
// the season (period float64s); len(tail) (uint32) and the tail.
const formatV1 = 1

var _ interface{ MarshalBinary() ([]byte, error) } = (*fitted)(nil)

// errCorrupt reports saved state that is truncated or inconsistent.
var errCorrupt = errors.New("corrupt holtwinters state")

// MarshalBinary encodes the fit, for snapshots (models.Restorer).
func (f *fitted) MarshalBinary() ([]byte, error) {
	e := encoding.Encbuf{B: make([]byte, 0, 1+3*8+1+4+(1+trendKinds)*4*8+4*8+len(f.season)*8+4+len(f.tail)*8)}
	e.PutByte(formatV1)
	e.PutLE64(uint64(f.start))
	e.PutLE64(uint64(f.step))
	e.PutLE64(uint64(f.n))
	e.PutByte(byte(f.kind.trend))
	e.PutLE32(uint32(f.kind.period))
	for _, p := range append([]params{f.p}, f.cand[:]...) {
		putFloats(&e, p.alpha, p.beta, p.gamma, p.phi)
	}
	putFloats(&e, f.level, f.trend, f.sigma2, f.z)
	putFloats(&e, f.season...)
	e.PutLE32(uint32(len(f.tail)))
	putFloats(&e, f.tail...)
	return e.Get(), nil
}

func putFloats(e *encoding.Encbuf, vs ...float64) {
	for _, v := range vs {
		e.PutFloat64(v)
	}
}

// Restore decodes what a fit's MarshalBinary wrote. It refuses other
// format versions (wrapping models.ErrUnknownFormat) and truncated or
// inconsistent data.
func (model) Restore(data []byte, _ models.Series) (models.Fitted, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("restore holtwinters: empty: %w", errCorrupt)
	}
	if data[0] != formatV1 {
		return nil, fmt.Errorf("restore holtwinters: format version %d: %w", data[0], models.ErrUnknownFormat)
	}
	d := encoding.Decbuf{B: data[1:]}
	f := &fitted{
		start: int64(d.LE64()),
		step:  int64(d.LE64()),
		n:     int(int64(d.LE64())),
	}
	f.kind = kind{trend: int(d.Byte()), period: int(d.LE32())}
	f.p = getParams(&d)
	for t := range f.cand {
		f.cand[t] = getParams(&d)
	}
	f.level, f.trend, f.sigma2, f.z = d.Float64(), d.Float64(), d.Float64(), d.Float64()
	if f.kind.period > 0 {
		f.season = getFloats(&d, f.kind.period)
	}
	f.tail = getFloats(&d, int(d.LE32()))
	switch {
	case d.Err() != nil:
		return nil, fmt.Errorf("restore holtwinters: %w: %w", errCorrupt, d.Err())
	case d.Len() != 0:
		return nil, fmt.Errorf("restore holtwinters: %d trailing bytes: %w", d.Len(), errCorrupt)
	case f.kind.trend >= trendKinds || f.step <= 0 || f.n < 1 || f.kind.period == 1 || f.kind.period > f.n ||
		len(f.tail) > f.n || len(f.tail) > max(f.kind.period, 1):
		return nil, fmt.Errorf("restore holtwinters: inconsistent header: %w", errCorrupt)
	case !valid(f.p, f.kind.trend) || !valid(f.cand[trendNone], trendNone) ||
		!valid(f.cand[trendAdd], trendAdd) || !valid(f.cand[trendDamped], trendDamped) ||
		!finite(f.level) || !finite(f.trend) || !(f.sigma2 >= 0) || !finite(f.sigma2) || !(f.z >= 0) || !finite(f.z):
		return nil, fmt.Errorf("restore holtwinters: parameters out of range: %w", errCorrupt)
	}
	for _, v := range append(f.season[:len(f.season):len(f.season)], f.tail...) {
		if !finite(v) {
			return nil, fmt.Errorf("restore holtwinters: non-finite state: %w", errCorrupt)
		}
	}
	return f, nil
}

// valid reports whether p lies in the parameter space Fit searches
// (boundaries included, as the optimiser's logistic can round onto them).
func valid(p params, trend int) bool {
	ok := p.alpha >= 0 && p.alpha <= 1 && p.beta >= 0 && p.beta <= p.alpha &&
		p.gamma >= 0 && p.gamma <= 1-p.alpha
	switch trend {
	case trendNone:
		return ok && p.beta == 0 && p.phi == 1
	case trendDamped:
		return ok && p.phi >= minPhi && p.phi <= maxPhi
	}
	return ok && p.phi == 1
}

func getParams(d *encoding.Decbuf) params {
	return params{alpha: d.Float64(), beta: d.Float64(), gamma: d.Float64(), phi: d.Float64()}
}

// getFloats reads n float64s, checking the length before allocating.
func getFloats(d *encoding.Decbuf, n int) []float64 {
	if n < 0 || n > d.Len()/8 {
		d.Fail(encoding.ErrInvalidSize)
	}
	if d.Err() != nil {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = d.Float64()
	}
	return out
}
