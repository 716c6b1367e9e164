package holtwinters

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/train-prometheus/train-prometheus/models"
)

// formatV1 is the first byte of MarshalBinary's encoding.
//
// Layout (little endian): version byte; start, step, n (int64); trend kind
// byte (0 none, 1 additive, 2 damped); period (uint32); the chosen params,
// then each trend kind's params (α, β, γ, φ each); level, trend, σ², z;
// the season (period float64s); len(tail) (uint32) and the tail.
const formatV1 = 1

var _ encoding.BinaryMarshaler = (*fitted)(nil)

// errCorrupt reports saved state that is truncated or inconsistent.
var errCorrupt = errors.New("corrupt holtwinters state")

// MarshalBinary encodes the fit, for snapshots (models.Restorer).
func (f *fitted) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 1+3*8+1+4+(1+trendKinds)*4*8+4*8+len(f.season)*8+4+len(f.tail)*8)
	b = append(b, formatV1)
	b = binary.LittleEndian.AppendUint64(b, uint64(f.start))
	b = binary.LittleEndian.AppendUint64(b, uint64(f.step))
	b = binary.LittleEndian.AppendUint64(b, uint64(f.n))
	b = append(b, byte(f.kind.trend))
	b = binary.LittleEndian.AppendUint32(b, uint32(f.kind.period))
	for _, p := range append([]params{f.p}, f.cand[:]...) {
		b = appendFloats(b, p.alpha, p.beta, p.gamma, p.phi)
	}
	b = appendFloats(b, f.level, f.trend, f.sigma2, f.z)
	b = appendFloats(b, f.season...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.tail)))
	b = appendFloats(b, f.tail...)
	return b, nil
}

func appendFloats(b []byte, vs ...float64) []byte {
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
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
	r := reader{b: data[1:]}
	f := &fitted{
		start: int64(r.uint64()),
		step:  int64(r.uint64()),
		n:     int(int64(r.uint64())),
	}
	f.kind = kind{trend: int(r.byte()), period: int(r.uint32())}
	f.p = r.params()
	for t := range f.cand {
		f.cand[t] = r.params()
	}
	f.level, f.trend, f.sigma2, f.z = r.float(), r.float(), r.float(), r.float()
	if f.kind.period > 0 {
		f.season = r.floats(f.kind.period)
	}
	f.tail = r.floats(int(r.uint32()))
	switch {
	case r.err != nil:
		return nil, fmt.Errorf("restore holtwinters: %w", r.err)
	case len(r.b) != 0:
		return nil, fmt.Errorf("restore holtwinters: %d trailing bytes: %w", len(r.b), errCorrupt)
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

// reader decodes little-endian values, recording the first shortfall.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		if r.err == nil {
			r.err = fmt.Errorf("truncated: %w", errCorrupt)
		}
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) byte() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) uint32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) uint64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) float() float64 { return math.Float64frombits(r.uint64()) }

func (r *reader) params() params {
	return params{alpha: r.float(), beta: r.float(), gamma: r.float(), phi: r.float()}
}

// floats reads n float64s, checking the length before allocating.
func (r *reader) floats(n int) []float64 {
	b := r.take(8 * n)
	if b == nil {
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}
