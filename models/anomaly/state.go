package anomaly

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// stateVersion is the first byte of a marshalled Detector.
const stateVersion = 1

// ErrBadState reports a saved Detector that cannot be read.
var ErrBadState = errors.New("malformed anomaly detector state")

// MarshalBinary implements encoding.BinaryMarshaler: everything the
// detector learnt, so that a restarted process needs no new warm-up.
func (d *Detector) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+8*(3+boxLen+5*nStats)+2)
	b = append(b, stateVersion)
	b = binary.AppendVarint(b, d.n)
	b = binary.AppendVarint(b, d.last)
	b = binary.AppendVarint(b, int64(d.run))
	flags := byte(d.nbox) | byte(d.settle)<<2
	if d.runUp {
		flags |= 0x80
	}
	b = append(b, flags, byte(d.flagRun)|byte(d.hotRun)<<2)
	if d.primed {
		b[len(b)-1] |= 0x10
	}
	fs := []float64{d.absErr, d.ewma}
	fs = append(fs, d.box[:]...)
	for _, t := range d.stats {
		fs = append(fs, t.absMean, t.w, t.r, t.m1, t.m2)
	}
	for _, f := range fs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	for _, f := range append(d.phase[:], d.phaseW[:]...) {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
	}
	return b, nil
}

// UnmarshalBinary implements encoding.BinaryUnmarshaler.
func (d *Detector) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != stateVersion {
		return fmt.Errorf("anomaly detector state version %v: %w", b[:min(1, len(b))], ErrBadState)
	}
	b = b[1:]
	var v [3]int64
	for i := range v {
		x, n := binary.Varint(b)
		if n <= 0 {
			return ErrBadState
		}
		v[i], b = x, b[n:]
	}
	const nf = 2 + boxLen + 5*nStats
	if len(b) != 2+8*nf+4*2*phaseBins {
		return ErrBadState
	}
	flags, more := b[0], b[1]
	b = b[2:]
	var fs [nf]float64
	for i := range fs {
		fs[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
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
	ph := b[8*nf:]
	for i := range 2 * phaseBins {
		f := math.Float32frombits(binary.LittleEndian.Uint32(ph[4*i:]))
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
