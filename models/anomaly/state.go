package anomaly

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/train-prometheus/train-prometheus/internal/encoding"
)

// stateVersion is the first byte of a marshalled Detector.
const stateVersion = 1

// ErrBadState reports a saved Detector that cannot be read.
var ErrBadState = errors.New("malformed anomaly detector state")

// MarshalBinary implements encoding.BinaryMarshaler: everything the
// detector learnt, so that a restarted process needs no new warm-up.
func (d *Detector) MarshalBinary() ([]byte, error) {
	e := encoding.Encbuf{B: make([]byte, 0, 1+3*binary.MaxVarintLen64+8*(3+boxLen+5*nStats)+2)}
	e.PutByte(stateVersion)
	e.PutVarint64(d.n)
	e.PutVarint64(d.last)
	e.PutVarint64(int64(d.run))
	flags := byte(d.nbox) | byte(d.settle)<<2
	if d.runUp {
		flags |= 0x80
	}
	more := byte(d.flagRun) | byte(d.hotRun)<<2
	if d.primed {
		more |= 0x10
	}
	e.PutByte(flags)
	e.PutByte(more)
	e.PutFloat64(d.absErr)
	e.PutFloat64(d.ewma)
	for _, f := range d.box {
		e.PutFloat64(f)
	}
	for _, t := range d.stats {
		for _, f := range []float64{t.absMean, t.w, t.r, t.m1, t.m2} {
			e.PutFloat64(f)
		}
	}
	for _, f := range append(d.phase[:], d.phaseW[:]...) {
		e.PutFloat32(f)
	}
	return e.Get(), nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (d *Detector) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != stateVersion {
		return fmt.Errorf("anomaly detector state version %v: %w", b[:min(1, len(b))], ErrBadState)
	}
	dec := encoding.Decbuf{B: b[1:]}
	var v [3]int64
	for i := range v {
		v[i] = dec.Varint64()
	}
	if err := dec.Err(); err != nil {
		return fmt.Errorf("decode anomaly detector state: %w: %w", ErrBadState, err)
	}
	const nf = 2 + boxLen + 5*nStats
	if dec.Len() != 2+8*nf+4*2*phaseBins {
		return ErrBadState
	}
	flags, more := dec.Byte(), dec.Byte()
	var fs [nf]float64
	for i := range fs {
		fs[i] = dec.Float64()
		if math.IsNaN(fs[i]) || math.IsInf(fs[i], 0) {
			return ErrBadState
		}
	}
	nbox, settle := int8(flags&3), int8(flags>>2&0x1f)
	flagRun, hotRun := int8(more&0x03), int8(more>>2&0x03)
	if v[0] < 0 || v[2] < 0 || v[2] > math.MaxInt32 || nbox > boxLen || settle > settleSteps || flagRun > boxLen || hotRun > boxLen || more&0xe0 != 0 {
		return ErrBadState
	}
	*d = Detector{n: v[0], last: v[1], run: int32(v[2]), runUp: flags&0x80 != 0, nbox: nbox, settle: settle,
		flagRun: flagRun, hotRun: hotRun, primed: more&0x10 != 0,
		absErr: fs[0], ewma: fs[1]}
	copy(d.box[:], fs[2:2+boxLen])
	for i := range 2 * phaseBins {
		f := dec.Float32()
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) || f < 0 {
			return ErrBadState
		}
		if i < phaseBins {
			d.phase[i] = f
		} else {
			d.phaseW[i-phaseBins] = f
		}
	}
	for k := range d.stats {
		f := fs[2+boxLen+5*k:]
		d.stats[k] = tail{absMean: f[0], w: f[1], r: f[2], m1: f[3], m2: f[4], priorAdded: f[1] > 0}
	}
	return nil
}
